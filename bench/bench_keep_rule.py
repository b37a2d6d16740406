"""The keep rule of the regularization ladder, repeated with 3 seeds: are the kept rungs the same, and where they
differ, are the differences within noise?

The call is recipe_nb/04's in quick mode on the embedded digits: the training split cut to 10% (144 images, drawn
with the seed), resnet18 from scratch at 32 px, fit_one_cycle(8, 3e-3), rungs data (learning curve at 0.5), augment
(aug_transforms without flips) and MixUp 0.4; one thread. The seed changes the subset and the training, as the
notebook's `seed` parameter does. For every seed: each rung's paired per-image validation-loss gain over its
reference with its 95% bootstrap interval, the accuracy change with its interval, and kept or not.

The old rule (kept when the accuracy beat the reference's, no margin), measured on the same calls before the change
(2026-12-01, on the digits): seed 42 kept MixUp (accuracy +1.4 points, validation loss 0.564 -> 0.582), seed 1 kept
augment, seed 2 kept nothing: three different kept sets.

The new rule, same calls (2026-12-01, shared 2-core machine, on the digits): kept per seed {42: none, 1: augment,
2: none}. The rung that differs is augment: paired validation-loss gain per image +0.045 (95% interval -0.071 to
+0.159, within noise) at seed 42, +0.336 (+0.218 to +0.455, kept) at seed 1, -0.627 (-0.806 to -0.463, worse beyond
noise) at seed 2. MixUp: -0.017 (-0.120 to +0.091), -0.571 vs augment, -0.229: never kept. The interval covers the
draw of validation images, not the training seed: the baseline retrained from seed+1000 on the same images moved by
+0.215 (+0.096 to +0.335), +0.036 (-0.103 to +0.165) and -0.153 (-0.242 to -0.057), i.e. seed-to-seed differences
of the same size as the rungs' effects. At 8 epochs on 144 images the augment rung's effect itself depends on the
seed (accuracy 0.802, 0.883, 0.752 against baselines 0.813, 0.783, 0.928); the kept set is not stable across seeds.

    python bench/bench_keep_rule.py [seeds...]   # default 42 1 2; about 1-2 minutes a seed on a 2-core CPU
"""
import json, sys, tempfile, time, warnings
import numpy as np, pandas as pd, torch
from nnrecipe.data import digits, load_items, subset
from nnrecipe.ladder import regularize_ladder, _paired
from nnrecipe.regularize import default_config, fit_config

warnings.filterwarnings('ignore')
torch.set_num_threads(1)

def quick_ladder(seed:int):
    "recipe_nb/04's quick call on the digits, for `seed`."
    items = load_items(digits(), seed=seed)
    n = int((~items.is_valid).sum())
    items = pd.concat([subset(items, round(0.1*n), seed=seed), items[items.is_valid]])
    start = default_config('resnet18', size=32, bs=32, epochs=8, lr=3e-3, seed=seed)
    lad = regularize_ladder(items, start, rungs=('data', 'augment', 'mixup'),
                            candidates=dict(augment=dict(aug=dict(do_flip=False))), fractions=(0.5,), progress=False,
                            checkpoint_dir=(ck := tempfile.mkdtemp()))
    base = json.loads(open(f'{ck}/ladder.jsonl').readline())['row']  # the baseline's per-image validation results
    return lad, items, start, base

def seed_noise(items, start, base)->dict:
    "The baseline again with another training seed, same images: its paired gain is training noise alone."
    learn,_ = fit_config(items, {**start, 'seed': start['seed'] + 1000})
    y = np.asarray(base['_y'])
    return _paired(dict(base, rung='baseline'), dict(_loss=learn.valid_item_loss, _pred=learn.valid_item_pred), y,
                   np.ones(len(y)), 0)

if __name__ == '__main__':
    seeds = [int(s) for s in sys.argv[1:]] or [42, 1, 2]
    cols = ['rung', 'valid_loss', 'metric', 'vs', 'gain', 'gain_lo', 'gain_hi', 'd_metric', 'd_metric_lo',
            'd_metric_hi', 'kept']
    kept = {}
    for s in seeds:
        t = time.perf_counter(); lad,items,start,base = quick_ladder(s)
        print(f"seed {s} ({time.perf_counter() - t:.0f} s), on the digits")
        print(lad.table[cols].to_string(index=False, float_format=lambda v: f"{v:+.3f}"))
        for r in lad.table.itertuples():
            if isinstance(r.why, str): print(f"  {r.rung}: {r.why}")
        kept[s] = lad.kept
        p = seed_noise(items, start, base)
        print(f"  training-seed noise (baseline, seed {s + 1000} vs {s}, same images): loss gain {p['gain']:+.3f} "
              f"({p['gain_lo']:+.3f} to {p['gain_hi']:+.3f}), accuracy {p['d_metric']:+.3f}")
        print(flush=True)
    print('kept per seed:', kept)
    same = len({tuple(v) for v in kept.values()}) == 1
    print('the same in all seeds' if same else 'kept sets differ: see the intervals')
