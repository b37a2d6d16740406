"""One rung of the regularization ladder (`fit_config`) vs the same rung done by hand with fastai.

Peer: what a practitioner writes for one rung: `learn.fit_one_cycle(epochs, lr)` (fastai validates after every epoch)
then `learn.validate()` on the training set through the validation transforms, for the gap. Ours trains the same
configuration from the same seed, skips the per-epoch validation (a fixed-budget run decides nothing before its end)
and measures both splits in eval mode once. Same data (digits, training split cut to 10%), resnet18 from scratch,
32 px, 8 epochs, one thread; ratio = our seconds / peer seconds, median of alternating runs. The goal, <= 1.0, says
the ladder's bookkeeping costs nothing over the hand-written rung. First measured 0.5 (2026-11-29, shared 2-core
machine): the eight skipped validation passes are most of the difference. The two accuracies are reported, not
compared: each validation pass draws a seed from torch's global generator (DataLoader iteration), so the peer's
augmentation stream differs from ours after the first epoch, and the two models differ by that chance alone.
"""
import json, statistics, time, warnings
import pandas as pd, torch
from fastai.vision.all import set_seed
from nnrecipe.data import digits, load_items, subset
from nnrecipe.regularize import fit_config, regularized_learner

warnings.filterwarnings('ignore')
torch.set_num_threads(1)
items = load_items(digits())
tenth = pd.concat([subset(items, round(0.1*(~items.is_valid).sum())), items[items.is_valid]])
cfg = dict(epochs=8, aug=dict(do_flip=False))

def ours():
    t = time.perf_counter(); _,m = fit_config(tenth, cfg); return time.perf_counter() - t, m['metric']

def peer():
    t = time.perf_counter()
    learn = regularized_learner(tenth, cfg)
    set_seed(42, reproducible=True)
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(cfg['epochs'], 3e-3)
        train = learn.dls.test_dl(tenth[~tenth.is_valid], with_labels=True)
        learn.validate(dl=train); acc = float(learn.validate()[1])
    return time.perf_counter() - t, acc

a,b = [],[]
for _ in range(2):
    a.append(ours()); b.append(peer())
ratio = statistics.median(x for x,_ in a)/statistics.median(x for x,_ in b)
print(json.dumps(dict(name='ladder_rung_vs_fastai_by_hand', metric='seconds per rung ratio', value=round(ratio, 2),
                      goal='<= 1.0', passed=ratio <= 1.0,
                      details=dict(ours_s=[round(x, 1) for x,_ in a], peer_s=[round(x, 1) for x,_ in b],
                                   ours_accuracy=round(a[0][1], 4), peer_accuracy=round(b[0][1], 4)))))
