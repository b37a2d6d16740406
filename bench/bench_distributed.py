"""The recipe's final training on 2 CPU processes (torchrun, gloo) vs 1 process: same accuracy, and images/s.

Both through nnrecipe's entry point (`python -m nnrecipe.distributed` for one process, `torchrun --standalone
--nproc_per_node 2 -m nnrecipe.distributed` for two), on the embedded digits (1,438 training and 359 validation images
at 16 px), resnet18 from scratch, `default_config` with 3 one-cycle epochs and the same global batch of 64: one process
takes 64 images a step, each of the two takes 32. Three seeds each. The claim is correctness: the 2-process mean
validation accuracy lies within the seed-to-seed spread of the 1-process runs (or theirs). Speed: one torch thread
per process (the 2-core CI machine is shared: more threads than cores stall); images/s counts the training fit only,
and says nothing about GPUs, where each process has its own device. value = mean accuracy, 2 processes / 1 process.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
from nnrecipe.data import digits

SEEDS, EPOCHS, BS, SIZE = (0, 1, 2), 3, 64, 16
tmp = Path(tempfile.mkdtemp())
data = digits()
bindir = Path(sys.executable).parent
root = Path(__file__).resolve().parents[1]
env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': os.pathsep.join([str(root), os.environ.get('PYTHONPATH', '')])}

def run(n:int, seed:int)->dict:
    "One training through the entry point on `n` processes; its train.json and wall seconds."
    out = tmp/f'p{n}_s{seed}'
    launch = ([sys.executable, '-m'] if n == 1 else
              [shutil.which('torchrun', path=str(bindir)) or 'torchrun', '--standalone', '--nproc_per_node', str(n), '-m'])
    args = ['nnrecipe.distributed', '--data', str(data), '--out-dir', str(out), '--epochs', str(EPOCHS), '--bs', str(BS),
            '--size', str(SIZE), '--seed', str(seed), '--threads', '1', '--quiet']
    t = time.perf_counter()
    p = subprocess.run(launch + args, capture_output=True, text=True, env=env)
    if p.returncode: raise RuntimeError(p.stderr[-4000:])
    return dict(json.loads((out/'train.json').read_text()), wall_s=time.perf_counter() - t)

done = {(n, s): run(n, s) for s in SEEDS for n in (1, 2)}  # interleaved: the shared machine's load falls on both alike
runs = {n: [done[n, s] for s in SEEDS] for n in (1, 2)}
acc = {n: [r['metric'] for r in rs] for n,rs in runs.items()}
ips = {n: statistics.mean(r['images_per_s'] for r in rs) for n,rs in runs.items()}
mean = {n: statistics.mean(a) for n,a in acc.items()}
spread = max(max(a) - min(a) for a in acc.values())
shards_ok = all(e['ok'] for r in runs[2] for e in r['shards'])
passed = abs(mean[2] - mean[1]) <= spread and shards_ok
print(json.dumps(dict(name='distributed_2_cpu_processes_vs_1', metric='valid accuracy ratio, 2 procs / 1 proc',
                      value=round(mean[2]/mean[1], 4), goal='|diff| <= seed spread', passed=passed,
                      details=dict(accuracy_1proc=[round(a, 4) for a in acc[1]], accuracy_2proc=[round(a, 4) for a in acc[2]],
                                   mean_1proc=round(mean[1], 4), mean_2proc=round(mean[2], 4), seed_spread=round(spread, 4),
                                   images_per_s_1proc=round(ips[1], 1), images_per_s_2proc=round(ips[2], 1),
                                   speed_ratio=round(ips[2]/ips[1], 2), shards_ok=shards_ok, seeds=SEEDS, epochs=EPOCHS,
                                   global_bs=BS, size=SIZE, threads_per_process=1, n_train=runs[1][0]['n_train'],
                                   wall_s_1proc=[round(r['wall_s'], 1) for r in runs[1]],
                                   wall_s_2proc=[round(r['wall_s'], 1) for r in runs[2]]))))
