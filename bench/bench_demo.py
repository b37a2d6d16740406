"""`nnrecipe demo` end to end in quick mode (what `make demo` runs on a machine without a GPU): minutes per step.

Goal (issue 9): the whole quick demo in at most 15 minutes on a 2-core CPU, venv built. The per-step minutes feed the
cost table of recipe_nb/00_start_here.ipynb. This is a bare time, not a ratio against a peer: there is no peer that
runs this recipe; the load average is recorded beside it, since a shared machine inflates it.

    python bench/bench_demo.py [--out DIR] [--keep]
Prints one JSON line last: {"name", "metric", "value", "goal", "passed", "details"}.
"""
import argparse, json, os, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out', default=None, help='run folder (default: a temporary folder, removed afterwards)')
    p.add_argument('--keep', action='store_true', help='keep the run folder')
    a = p.parse_args()
    out = Path(a.out) if a.out else Path(tempfile.mkdtemp(prefix='nnrecipe-demo-'))/'demo'
    exe = Path(sys.executable).parent/'nnrecipe'
    cmd = [str(exe) if exe.exists() else 'nnrecipe', 'demo', '--quick', '--fresh', '--out', str(out)]
    load0, t0 = os.getloadavg()[0], time.time()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.time() - t0
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = json.loads((out/'run.json').read_text()) if (out/'run.json').exists() else {'steps': []}
    steps = {s['notebook']: round(s['seconds']/60, 2) for s in run['steps']}
    print(r.stdout[-3000:], file=sys.stderr)
    if r.returncode: print(r.stderr[-3000:], file=sys.stderr)
    minutes = round(wall/60, 2)
    details = dict(step_minutes=steps, statuses={s['notebook']: s['status'] for s in run['steps']},
                   cpu_minutes=round((cpu.ru_utime + cpu.ru_stime)/60, 2), returncode=r.returncode,
                   load_average_start=round(load0, 2), load_average_end=round(os.getloadavg()[0], 2), cores=os.cpu_count(),
                   omp_num_threads=os.environ.get('OMP_NUM_THREADS'), report=str(out/'report.html') if a.keep or a.out else None)
    if not (a.keep or a.out): shutil.rmtree(out.parent, ignore_errors=True)
    print(json.dumps(dict(name='demo', metric='quick demo, minutes end to end', value=minutes, goal='<= 15',
                          passed=r.returncode == 0 and minutes <= 15, details=details)))

if __name__ == '__main__': main()
