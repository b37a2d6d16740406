"""Run every bench/bench_*.py, collect their results in bench/results.json and print a table.

Each benchmark runs nnrecipe and its named peer side by side in one process and prints, as its last line of
stdout, one JSON object: {"name", "metric", "value", "goal", "passed", "details"}. `value` is a ratio
(nnrecipe / peer), never a bare time: the machines are shared and noisy, ratios measured side by side are not.
"""
import json, subprocess, sys, time
from pathlib import Path

here = Path(__file__).parent
only = sys.argv[1:]
results = []
for f in sorted(here.glob('bench_*.py')):
    if only and not any(o in f.name for o in only): continue
    t = time.time()
    p = subprocess.run([sys.executable, str(f)], capture_output=True, text=True)
    lines = [l for l in p.stdout.strip().splitlines() if l.startswith('{')]
    if p.returncode or not lines:
        res = dict(name=f.stem, metric='error', value=None, goal='', passed=False,
                   details=dict(returncode=p.returncode, stderr=p.stderr[-2000:]))
    else: res = json.loads(lines[-1])
    res['script'], res['seconds'] = f.name, round(time.time()-t, 1)
    results.append(res)
    print(f"{res['name']:<34} {res['metric']:<34} {str(res['value']):>10} goal {res['goal']:<8} "
          f"{'PASS' if res['passed'] else 'FAIL'}  ({res['seconds']} s)", flush=True)
(here/'results.json').write_text(json.dumps(dict(when=time.strftime('%Y-%m-%d %H:%M:%S'), results=results), indent=1))
print(f"wrote {here/'results.json'}")
