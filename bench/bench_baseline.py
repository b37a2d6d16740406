"""nnrecipe.baseline.baseline_learner (raw-history logging, early-stopping guard, checked DataLoaders) vs plain fastai
vision_learner, both trained with fit_one_cycle on the same data, arch, epochs and seed.

Embedded digits at 32 px, resnet18 from scratch (pretrained=False), bs 64, one-cycle at 1e-3. The two are run
alternately, REPEATS times each, in one process; ratio = median nnrecipe seconds / median plain seconds, each run timed
from building the learner to the end of training. The plain learner gets the same metrics and the same head
initialisation (`init_head`), so the logging callbacks are the only difference: the per-epoch losses and metrics must
then be identical (`learn.recorder.values`, compared exactly). Goal: ratio <= 1.05 and identical values.
"""
import json, os, statistics, sys, tempfile, time
from pathlib import Path
import torch
from fastai.vision.all import vision_learner, resnet18, set_seed
from nnrecipe.data import digits, load_items, dataloaders
from nnrecipe.baseline import baseline_learner
from nnrecipe.task import check_dls, suggest_metrics
from nnrecipe.learner import init_head
from nnrecipe.history import load_history

EPOCHS, REPEATS, SEED, LR = int(os.environ.get('BENCH_EPOCHS', 1)), int(os.environ.get('BENCH_REPEATS', 5)), 42, 1e-3
items = load_items(digits())
tmp = Path(tempfile.mkdtemp())

def ours(i):
    set_seed(SEED, reproducible=True)
    t = time.perf_counter()
    dls = dataloaders(items, size=32, bs=64, seed=SEED)
    learn = baseline_learner(dls, pretrained=False, run_dir=tmp/f'ours{i}')
    learn.fit_one_cycle(EPOCHS, LR)
    return time.perf_counter()-t, learn

def plain(i):
    set_seed(SEED, reproducible=True)
    t = time.perf_counter()
    dls = dataloaders(items, size=32, bs=64, seed=SEED)
    info = check_dls(dls)  # the same metrics and head init as ours: the logging callbacks are the only difference
    learn = vision_learner(dls, resnet18, pretrained=False, metrics=suggest_metrics(info), path=tmp)
    init_head(learn, info)
    learn.fit_one_cycle(EPOCHS, LR)
    return time.perf_counter()-t, learn

times = {'ours': [], 'plain': []}
values = {}
for i in range(REPEATS):
    for name,f in (('ours', ours), ('plain', plain)) if i % 2 == 0 else (('plain', plain), ('ours', ours)):
        s,learn = f(i)
        times[name].append(s)
        values.setdefault(name, []).append([[float(v) for v in row] for row in learn.recorder.values])
        print(f"{name:5} run {i}: {s:.2f} s, values {values[name][-1]}", file=sys.stderr, flush=True)
identical = all(v == values['plain'][0] for v in values['ours'] + values['plain'])
ratio = statistics.median(times['ours'])/statistics.median(times['plain'])
steps = len(load_history(tmp/'ours0').steps)
print(json.dumps(dict(name='baseline_vs_vision_learner', metric='fit time ratio (median)', value=round(ratio, 3),
                      goal='<= 1.05, identical losses', passed=ratio <= 1.05 and identical,
                      details=dict(identical_epoch_values=identical, epochs=EPOCHS, repeats=REPEATS,
                                   steps_logged_per_run=steps, threads=torch.get_num_threads(),
                                   ours_s=[round(t, 2) for t in times['ours']], plain_s=[round(t, 2) for t in times['plain']],
                                   values=values['ours'][0]))))
