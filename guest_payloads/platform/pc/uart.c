// 16550 UART console over port I/O, polled (no interrupts). One UART per program.
//
//   base+0 THR/DLL  base+1 IER/DLM  base+2 FCR  base+3 LCR  base+4 MCR  base+5 LSR
#include <platform/pc.h>

#include <arch/x86_64/cpu.h>

#define UART_THR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR 0x07  // enable FIFOs, clear both
#define MCR_DTR_RTS 0x03
#define LSR_THR_EMPTY 0x20
#define LSR_TX_IDLE 0x40

#define UART_DIVISOR_115200 1  // 1.8432 MHz / 16 / 115200

static uint16_t uart_base;

void pc_uart_init(uint16_t base) {
    outb(base + UART_IER, 0);
    outb(base + UART_LCR, LCR_DLAB);
    outb(base + UART_DLL, UART_DIVISOR_115200);
    outb(base + UART_DLM, 0);
    outb(base + UART_LCR, LCR_8N1);
    outb(base + UART_FCR, FCR_ENABLE_CLEAR);
    outb(base + UART_MCR, MCR_DTR_RTS);
    uart_base = base;
}

void pc_uart_putc(char c) {
    if (uart_base == 0) {
        return;
    }
    while (!(inb(uart_base + UART_LSR) & LSR_THR_EMPTY)) {
        x86_pause();
    }
    outb(uart_base + UART_THR, (uint8_t)c);
}

void pc_uart_flush(void) {
    if (uart_base == 0) {
        return;
    }
    while (!(inb(uart_base + UART_LSR) & LSR_TX_IDLE)) {
        x86_pause();
    }
}
