"""Presizing on a real folder: the presized cache vs fastai's per-epoch decode and resize.

Folder: bench/real_folder.py's 480 real images (icons, photos, logos; 24 px to ~9,700 px sides, one ~95-Mpixel PNG;
the ~210-Mpixel file over PIL's limit is left out, as the scan reports it). Both loaders are nnrecipe.data.dataloaders
on the same items, batch size and 0 workers: `presize=0` is fastai's path (each image decoded, JPEG draft where it can,
and squished to `size` every epoch), `presize=2` the presized one (decoded once at 2 x size into a cache, random
crop on the batch). The default, `presize=None`, decides per folder (on from a median side of 2 x size and 64 px):
on this folder (median side 128 px in its sample, mostly icons) only up to 64 px; `auto_side` records its choice.
Measured side by side:
  1. loader images/s over a training epoch, epochs 1 and 2 (the cache is filled in epoch 1); goal: >= 3x on epoch 2;
  2. epoch time at 128 px, resnet18 from scratch, fit on the CPU both ways (presized: from the filled cache);
  3. accuracy after a few epochs at 64 px, 3 seeds each way: the presized mean within the plain runs' spread.
Run once; the machine is shared: the load average is printed with the figures. Threads: torch's default under
OMP_NUM_THREADS (1 here).
Usage: python bench/bench_presize.py [--epochs 4] [--size 128] [--acc-size 64] [--loader-only]
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np, torch
from fastai.vision.all import accuracy, set_seed
from nnrecipe.data import cache_dir, load_items, dataloaders, image_size
from nnrecipe.learner import recipe_learner

ap = argparse.ArgumentParser(); ap.add_argument('--epochs', type=int, default=4)
ap.add_argument('--size', type=int, default=128); ap.add_argument('--acc-size', type=int, default=64)
ap.add_argument('--loader-only', action='store_true', help='measure 1. only (a minute or two)')
a = ap.parse_args()
root = cache_dir()/'real_folder'
if not root.exists(): subprocess.run([sys.executable, str(Path(__file__).parent/'real_folder.py')], check=True)

def readable(f):
    try: image_size(f); return True
    except Exception: return False
items = load_items(root, seed=0)
items = items[[readable(f) for f in items.fname]].reset_index(drop=True)
cache = Path(tempfile.mkdtemp(prefix='presized_'))

def epoch_loader(dl):
    "Images/s over one epoch of training batches."
    t = time.perf_counter(); n = sum(len(b[0]) for b in dl)
    return n/(time.perf_counter() - t)

def dls_of(presized:bool, size:int, seed:int=0):
    return dataloaders(items, size=size, bs=32, num_workers=0, seed=seed, presize=2. if presized else 0,
                       cache_dir=cache)

load0 = os.getloadavg()
plain, pre = dls_of(False, a.size), dls_of(True, a.size)
ips = dict(plain=[epoch_loader(plain.train) for _ in range(2)], presized=[epoch_loader(pre.train) for _ in range(2)])

def fit_time(dls, epochs=1, seed=0):
    set_seed(seed, reproducible=True)
    learn = recipe_learner(dls, 'resnet18', pretrained=False, metrics=accuracy)
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 2e-3)
    return (time.perf_counter() - t)/epochs, float(learn.validate()[1])

ep = {} if a.loader_only else dict(plain=fit_time(plain)[0], presized=fit_time(pre)[0])
acc = {k: [] if a.loader_only else [fit_time(dls_of(k == 'presized', a.acc_size, s), a.epochs, s)[1] for s in range(3)]
       for k in ('plain', 'presized')}
lo, hi = (min(acc['plain']), max(acc['plain'])) if acc['plain'] else (0, 0)
ratio = ips['presized'][1]/ips['plain'][1]
out = dict(name='presize_vs_per_epoch_decode', metric='loader images/s ratio, epoch 2', value=round(ratio, 2),
           goal='>= 3', passed=ratio >= 3,
           details=dict(images=len(items), n_train=int((~items.is_valid).sum()), presized_side=pre.presized,
                        auto_side=dataloaders(items, size=a.size, cache_dir=cache).presized,
                        loader_images_per_s={k: [round(v, 1) for v in vs] for k, vs in ips.items()},
                        epoch_s_at_size={k: round(v, 1) for k, v in ep.items()}, size=a.size,
                        accuracy_3_seeds={k: [round(v, 4) for v in vs] for k, vs in acc.items()},
                        acc_size=a.acc_size, acc_epochs=a.epochs,
                        presized_mean_within_plain_spread=bool(acc['presized']) and
                            lo - 1e-9 <= statistics.mean(acc['presized']) <= hi + 1e-9,
                        load_avg_start_end=[round(load0[0], 2), round(os.getloadavg()[0], 2)],
                        threads=torch.get_num_threads(), cpus=os.cpu_count()))
print(json.dumps(out))
