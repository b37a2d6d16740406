"""The whole overfit ladder on the digits vs one plain fastai `fit_one_cycle` over the same number of optimiser steps.

Ours: `overfit_ladder(items)` with its defaults (subsets of 256, 128, 64 and 32 images, resnet18 from scratch, 32 px,
bs 32), timed from the item table to the verdict: decoding the subset once, every rung's learner, the eval-mode
checks (with BatchNorm statistics re-estimated), the raw history files, the validation of the memorising model.
Peer: fastai's `vision_learner(resnet18, pretrained=False)` on `nnrecipe.data.dataloaders` of the largest subset and
the validation set, `fit_one_cycle` for as many epochs as make the ladder's total number of steps (rounded up),
timed from the item table too. Same process, same thread count; ratio = ours / peer, wall time (CPU time alongside).
Goal from the issue: <= 1.2.
"""
import json, math, tempfile, time
from pathlib import Path
import pandas as pd, torch
from fastai.vision.all import vision_learner, resnet18, accuracy, set_seed
from nnrecipe.data import digits, load_items, dataloaders, subset
from nnrecipe.overfit import overfit_ladder

items = load_items(digits())
tmp = Path(tempfile.mkdtemp())

def timed(f):
    t,c = time.perf_counter(),time.process_time()
    r = f()
    return r, time.perf_counter()-t, time.process_time()-c

res,ours,ours_cpu = timed(lambda: overfit_ladder(items, run_dir=tmp/'ladder'))
steps = res.params['steps']

def peer():
    set_seed(0)
    dls = dataloaders(pd.concat([subset(items, 256), items[items.is_valid]]), size=32, bs=32)
    learn = vision_learner(dls, resnet18, pretrained=False, metrics=accuracy)
    n_epoch = math.ceil(steps/len(dls.train))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n_epoch, 3e-3)
    return n_epoch*len(dls.train)
peer_steps,theirs,theirs_cpu = timed(peer)
ratio = ours/theirs
print(json.dumps(dict(name='overfit_ladder_vs_fit_one_cycle', metric='wall time ratio, same optimiser steps',
                      value=round(ratio, 2), goal='<= 1.2', passed=ratio <= 1.2,
                      details=dict(ladder_s=round(ours, 1), fit_one_cycle_s=round(theirs, 1), ladder_cpu_s=round(ours_cpu, 1),
                                   fit_one_cycle_cpu_s=round(theirs_cpu, 1), cpu_ratio=round(ours_cpu/theirs_cpu, 2),
                                   ladder_steps=steps, peer_steps=peer_steps, rungs=len(res.table),
                                   verdict=res.verdict, threads=torch.get_num_threads()))))
