"""benchplot.py: the one way the bench's reports draw their charts (report.py for make
bench, wan_report.py for the wide-area experiment): a PNG terminal that uses cairo where
this gnuplot has it, and a script written beside the data and run, so that a chart can
be redrawn by hand (gnuplot PDIR/NAME.gp). Imported from the reports' own directory."""
import os
import shutil
import subprocess

MISSING = "gnuplot is not installed (apt-get install gnuplot-nox)"


def available():
    """True when gnuplot is on PATH"""
    return shutil.which("gnuplot") is not None


def terminal(width, height):
    """the `set terminal` line for a PNG of width x height pixels"""
    try:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        cairo = "pngcairo" in r.stdout + r.stderr
    except OSError:
        cairo = False
    if cairo:
        return 'set terminal pngcairo size %d,%d font ",10"' % (width, height)
    return "set terminal png size %d,%d" % (width, height)


def run(script, lines):
    """writes the lines to the file script and runs gnuplot on it: None, or what failed"""
    with open(script, "w") as f:
        f.write("\n".join(lines) + "\n")
    r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if r.returncode:
        return "gnuplot failed on %s: %s" % (os.path.basename(script), r.stderr.strip()[-300:])
    return None
