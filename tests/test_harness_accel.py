"""Accelerator choice with fake trials and a fake KVM check (no QEMU, no /dev/kvm needed)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from harness.accel import (
    CACHE_ENV,
    AccelDecision,
    choose_accel,
    default_cache_dir,
    host_key,
    kvm_unusable_reason,
    measure,
)
from harness.errors import AccelError, LaunchError
from harness.profiles import ARM64, X86_64, Accel, Profile


class FakeTrials:
    """Trial boots that take the given seconds per accelerator and count their calls."""

    def __init__(self, tcg: float, kvm: float, kvm_fails: bool = False,
                 tcg_fails: bool = False) -> None:
        self.seconds = {Accel.TCG: tcg, Accel.KVM: kvm}
        self.fails = {Accel.TCG: tcg_fails, Accel.KVM: kvm_fails}
        self.calls: list[Accel] = []

    def __call__(self, profile: Profile, accel: Accel) -> float:
        self.calls.append(accel)
        if self.fails[accel]:
            raise LaunchError(["qemu"], "QEMU exited with status 1 during start-up", "", None)
        return self.seconds[accel]


def usable(profile: Profile) -> None:
    return None


def unusable(profile: Profile) -> str:
    return "no /dev/kvm"


def test_tcg_needs_nothing(tmp_path: Path) -> None:
    trials = FakeTrials(0.1, 0.05)
    decision = choose_accel(X86_64, "tcg", tmp_path, trial=trials, kvm_check=unusable)
    assert decision == AccelDecision(Accel.TCG, "requested")
    assert trials.calls == []


def test_kvm_requested_but_unusable(tmp_path: Path) -> None:
    with pytest.raises(AccelError) as caught:
        choose_accel(X86_64, "kvm", tmp_path, trial=FakeTrials(0.1, 0.05), kvm_check=unusable)
    assert (caught.value.accel, caught.value.arch, caught.value.reason) == (
        "kvm", "x86_64", "no /dev/kvm",
    )


def test_kvm_requested_and_usable(tmp_path: Path) -> None:
    decision = choose_accel(X86_64, "kvm", tmp_path, trial=FakeTrials(0.1, 5), kvm_check=usable)
    assert decision.accel is Accel.KVM


def test_unknown_accelerator(tmp_path: Path) -> None:
    with pytest.raises(AccelError, match="unknown accelerator"):
        choose_accel(X86_64, "hvf", tmp_path)


def test_auto_without_kvm_is_tcg_unmeasured(tmp_path: Path) -> None:
    trials = FakeTrials(0.1, 0.05)
    decision = choose_accel(ARM64, "auto", tmp_path, trial=trials, kvm_check=unusable)
    assert decision.accel is Accel.TCG
    assert decision.reason == "KVM unusable: no /dev/kvm"
    assert trials.calls == []


@pytest.mark.parametrize("tcg, kvm, winner", [(0.08, 1.4, Accel.TCG), (0.5, 0.1, Accel.KVM)])
def test_auto_picks_the_faster(tcg: float, kvm: float, winner: Accel, tmp_path: Path) -> None:
    trials = FakeTrials(tcg, kvm)
    decision = choose_accel(X86_64, "auto", tmp_path, trial=trials, kvm_check=usable)
    assert decision.accel is winner
    assert (decision.tcg_s, decision.kvm_s) == (tcg, kvm)
    assert trials.calls == [Accel.TCG, Accel.KVM] * 3  # interleaved


def test_auto_decision_is_cached_per_host_and_profile(tmp_path: Path) -> None:
    trials = FakeTrials(0.08, 1.4)
    first = choose_accel(X86_64, "auto", tmp_path, trial=trials, kvm_check=usable)
    again = choose_accel(X86_64, "auto", tmp_path, trial=trials, kvm_check=usable)
    assert again == first
    assert len(trials.calls) == 6
    cached = list(tmp_path.glob("accel-x86_64-*.json"))
    assert [p.name for p in cached] == [f"accel-x86_64-{host_key(X86_64)}.json"]


def test_unreadable_cache_is_measured_again(tmp_path: Path) -> None:
    (tmp_path / f"accel-x86_64-{host_key(X86_64)}.json").write_text("{not json")
    decision = choose_accel(X86_64, "auto", tmp_path, trial=FakeTrials(0.5, 0.1),
                            kvm_check=usable)
    assert decision.accel is Accel.KVM


def test_failing_kvm_trial_falls_back_to_tcg() -> None:
    trials = FakeTrials(0.1, 0.01, kvm_fails=True)
    decision = measure(X86_64, trials)
    assert decision.accel is Accel.TCG
    assert "KVM trial boot failed" in decision.reason
    assert decision.tcg_s == 0.1 and decision.kvm_s is None


def test_decision_json_round_trip() -> None:
    decision = AccelDecision(Accel.KVM, "KVM starts faster", 0.5, 0.1)
    assert AccelDecision.from_json(decision.to_json()) == decision
    with pytest.raises(ValueError):
        AccelDecision.from_json({**decision.to_json(), "tcg_s": "fast"})


def test_kvm_unusable_on_a_foreign_host() -> None:
    reason = kvm_unusable_reason(ARM64, host_machine="x86_64")
    assert reason is not None and "host is x86_64" in reason


def test_kvm_unusable_without_the_device(tmp_path: Path) -> None:
    reason = kvm_unusable_reason(X86_64, device=tmp_path / "kvm", host_machine="x86_64")
    assert reason is not None and "cannot open" in reason


def test_kvm_unusable_when_the_device_is_not_kvm(tmp_path: Path) -> None:
    not_kvm = tmp_path / "kvm"
    not_kvm.write_bytes(b"")
    reason = kvm_unusable_reason(X86_64, device=not_kvm, host_machine="x86_64")
    assert reason is not None and reason.startswith("KVM_GET_API_VERSION on ")


def test_failing_tcg_trial_is_tcg_and_not_cached(tmp_path: Path) -> None:
    trials = FakeTrials(0.1, 0.01, tcg_fails=True)
    decision = choose_accel(X86_64, "auto", tmp_path, trial=trials, kvm_check=usable)
    assert decision.accel is Accel.TCG
    assert decision.reason.startswith("TCG trial boot failed: QEMU launch failed")
    assert list(tmp_path.glob("*.json")) == []
    trials = FakeTrials(0.5, 0.1)
    assert choose_accel(X86_64, "auto", tmp_path, trial=trials, kvm_check=usable).accel is (
        Accel.KVM)


def test_a_kvm_that_opens_but_cannot_boot_means_tcg(tmp_path: Path) -> None:
    """The host of issue 13: KVM_CREATE_VM works, QEMU -cpu host aborts (status -6)."""
    trials = FakeTrials(0.1, 0.01, kvm_fails=True)
    decision = choose_accel(X86_64, "auto", tmp_path, trial=trials, kvm_check=usable)
    assert decision.accel is Accel.TCG
    assert trials.calls == [Accel.TCG, Accel.KVM]


def test_default_cache_dir_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "run" / "accel"))
    assert default_cache_dir() == tmp_path / "run" / "accel"
    assert (tmp_path / "run" / "accel").is_dir()
    monkeypatch.setenv(CACHE_ENV, "")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    assert default_cache_dir() == tmp_path / f"zhb-accel-{os.getuid()}"


def test_pytest_runs_use_their_own_accel_cache() -> None:
    """The plugin points $ZHB_ACCEL_CACHE at this run's directory, not a per-user cache."""
    cache = Path(os.environ[CACHE_ENV])
    assert cache.is_dir() and cache.name == "accel"
    assert cache.parent.name.startswith("zhb-suites-")
    assert default_cache_dir() == cache
