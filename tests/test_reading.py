"""What a reader is told when a notebook starts: which mode runs and how to switch to the other one.
On Binder MFCREDIT_QUICK=1 is set, which quick = False in the notebook cannot override, so the
advice must then name the environment variable."""
import matplotlib
import pytest
import torch

import mfcredit as mf


def run_setup(quick, env, monkeypatch, capsys):
    """(quick, printed text) of mf.nb.setup; the thread count, plot style and mode it sets globally
    are put back, so the tests after this one run as before."""
    if env is None:
        monkeypatch.delenv("MFCREDIT_QUICK", raising=False)
    else:
        monkeypatch.setenv("MFCREDIT_QUICK", env)
    ns = {"__annotations__": {"quick": bool}, "quick": quick}
    threads = torch.get_num_threads()
    try:
        with matplotlib.rc_context():
            mf.nb.setup(ns)
    finally:
        torch.set_num_threads(threads)
        mf.nb._state["quick"] = False
    return ns["quick"], capsys.readouterr().out


@pytest.mark.parametrize("quick, env, mode, advice", [
    (False, "1", True, "%env MFCREDIT_QUICK=0"),          # Binder: the variable decides
    (True, None, True, "set quick = False in the parameters cell"),
    (True, "0", True, "set quick = False in the parameters cell"),
    (False, None, False, "set quick = True in the parameters cell"),
])
def test_setup_says_the_mode_and_how_to_switch(quick, env, mode, advice, monkeypatch, capsys):
    got, out = run_setup(quick, env, monkeypatch, capsys)
    assert got is mode
    assert out.startswith("Quick mode" if mode else "Paper scale"), out
    assert advice in out, out


def test_the_binder_advice_works(monkeypatch, capsys):
    """Following the advice (%env MFCREDIT_QUICK=0 sets the variable to 0) gives the paper scale."""
    assert run_setup(False, "0", monkeypatch, capsys)[0] is False
