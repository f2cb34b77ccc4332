"""pytest plugin of ``make nbval`` (``-p nbval_memory``): after the notebooks ran in quick mode, the
session fails if the largest peak resident memory of a notebook kernel, or of a worker process
that trained its runs, exceeded :data:`LIMIT_MIB`: the budget that leaves room for JupyterLab
within Binder's 2 GB, with one worker beside a kernel (``binder/start`` sets ``MFCREDIT_JOBS=1``).

The kernels are child processes of pytest; once nbval has shut them down, ``RUSAGE_CHILDREN``
reports the largest peak among them (and their own children, the sweep's workers).
"""
import resource

LIMIT_MIB = 600


def pytest_sessionfinish(session, exitstatus):
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    verdict = "within" if peak <= LIMIT_MIB else "OVER"
    line = f"largest quick-mode notebook kernel or worker: {peak:.0f} MiB, {verdict} the {LIMIT_MIB} MiB budget"
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("-", line, red=peak > LIMIT_MIB, green=peak <= LIMIT_MIB)
    if peak > LIMIT_MIB and session.exitstatus == 0:
        session.exitstatus = 1
