"""The self-test's JSON line says what broke: a frozen build that fails must be fixable from the CI log alone."""

from __future__ import annotations

import studio.self_test as self_test


def test_a_crash_is_reported_with_type_message_and_frames(tmp_path, monkeypatch):
    def broken_run(*_args, **_kwargs):
        raise FileNotFoundError("Cannot load dependency data, is `kernels` correctly installed?")

    monkeypatch.setattr(self_test, "_run", broken_run)
    figures = self_test.run_self_test(tmp_path / "out")
    assert figures["ok"] is False
    crash = figures["crash"]
    assert crash["type"] == "FileNotFoundError"
    assert "kernels" in crash["message"]
    assert "broken_run" in crash["traceback"]  # the frame that raised, not only the message


def test_the_detail_is_the_end_of_a_long_traceback():
    text = "\n".join(f"line {i}" for i in range(500))
    tail = self_test._tail(text)
    assert tail.splitlines()[-1] == "line 499"
    assert len(tail.splitlines()) == self_test.DETAIL_LINES
