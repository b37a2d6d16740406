"Presizing (decode once into a cache, random crop on the batch) and the cost said first (issue 18, items 2 and 4)."
import dataclasses
import hashlib, os, shutil, threading
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from PIL import Image
from torch import nn
from fastai.vision.all import set_seed
import nnrecipe.data as data
from nnrecipe.data import dataloaders, digits, load_items, subset
from nnrecipe.batch import estimate_cost
from nnrecipe.learner import recipe_learner
from nnrecipe.ladder import _crop_skip
from nnrecipe.run import open_run

FOLDER = Path(__file__).parent/'data'/'real'/'folder'   # real images, 48 to 542 px sides

@pytest.fixture
def real(tmp_path):
    "A copy of the committed real sample (its files get touched here) and its items, 25% held out."
    shutil.copytree(FOLDER, tmp_path/'real')
    return tmp_path/'real', load_items(tmp_path/'real', valid_pct=0.25, seed=0)

@pytest.fixture
def opened(monkeypatch):
    "Count the calls to open_image, the one decoding path."
    calls = []
    real_open = data.open_image
    monkeypatch.setattr(data, 'open_image', lambda fn, *a, **k: (calls.append(str(fn)), real_open(fn, *a, **k))[1])
    return calls

def _epoch(dls): return [b[0].clone() for b in dls.train] + [b[0].clone() for b in dls.valid]

def _snapshot(folder:Path)->dict:
    "Every file under `folder`: its modification time and content hash."
    return {str(p): (p.stat().st_mtime_ns, hashlib.sha1(p.read_bytes()).hexdigest())
            for p in folder.rglob('*') if p.is_file()}

def test_cache_written_once_and_reused(real, opened, tmp_path):
    root, items = real
    dls = dataloaders(items, size=32, bs=8, cache_dir=tmp_path/'cache', presize=2)
    assert dls.presized == 48                                   # min(2 x 32, the median shorter side, 48 px)
    _epoch(dls)
    assert sorted(set(opened)) == sorted(items.fname) and len(opened) == len(items)   # each file decoded once
    assert len(list((tmp_path/'cache').glob('*.bmp'))) == len(items)
    opened.clear()
    _epoch(dls); _epoch(dataloaders(items, size=32, bs=8, cache_dir=tmp_path/'cache', presize=2))   # a second epoch, new dls
    assert opened == []

def test_changed_file_is_decoded_again(real, opened, tmp_path):
    root, items = real
    dls = dataloaders(items, size=32, bs=8, cache_dir=tmp_path/'cache', presize=2)
    _epoch(dls); opened.clear()
    f = Path(items.fname[0]); Image.new('RGB', (200, 200), 'red').save(f, format=Image.open(f).format)
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    _epoch(dls)
    assert opened == [str(f)]

def test_never_writes_in_the_users_folder(real, tmp_path):
    root, items = real
    before = _snapshot(root)
    _epoch(dataloaders(items, size=32, bs=8, cache_dir=tmp_path/'cache', presize=2))
    assert _snapshot(root) == before
    with pytest.raises(ValueError, match='is inside your image folder'):
        dataloaders(items, size=32, cache_dir=root/'icons'/'cache', presize=2)
    assert _snapshot(root) == before

def test_two_writers_never_leave_half_a_file(real, tmp_path):
    "Writers racing on one cache (threads here; the rename is the same for processes) leave whole images only."
    root, items = real
    go = lambda: [data._presized(f, 48, (255, 255, 255), tmp_path/'cache') for f in items.fname]
    ts = [threading.Thread(target=go) for _ in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    files = sorted((tmp_path/'cache').iterdir())
    assert len(files) == len(items) and all(f.suffix == '.bmp' for f in files)   # no temporary left behind
    assert {Image.open(f).size for f in files} == {(48, 48)}

def test_training_crops_change_validation_does_not(real, tmp_path):
    root, items = real
    dls = dataloaders(items, size=32, bs=8, cache_dir=tmp_path/'cache', presize=2)
    tr = dls.train.new(shuffle=False)                            # the same images in the same order each epoch
    set_seed(0)
    t1, v1 = [b[0].clone() for b in tr], [b[0].clone() for b in dls.valid]
    t2, v2 = [b[0].clone() for b in tr], [b[0].clone() for b in dls.valid]
    assert t1[0].shape == (8, 3, 32, 32)
    assert not any(torch.equal(a, b) for a, b in zip(t1, t2))   # a new random crop every batch and epoch
    assert all(torch.equal(a, b) for a, b in zip(v1, v2))       # validation: the whole image, squished, every time
    cached = [data._presized(f, 48, (255, 255, 255), tmp_path/'cache') for f in items.fname[items.is_valid][:8]]
    pil = np.stack([np.asarray(im.resize((32, 32), Image.BILINEAR)) for im in cached]).transpose(0, 3, 1, 2)
    assert torch.equal(v1[0].cpu(), torch.from_numpy(pil).float()/255)   # ... by PIL, as an ONNX export redoes it
    assert {t.split_idx for t in dls.train.after_batch.fs if type(t).__name__ == 'RandomResizedCropGPU'} == {0}
    off = dataloaders(items, size=32, bs=8, cache_dir=tmp_path/'cache', presize=2, min_scale=1.).train.new(shuffle=False)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(off, off))   # min_scale=1: no crop
    assert [type(t).__name__ for t in off.after_item.fs] == ['Resize', 'ToTensor'] and len(off.after_batch.fs) == 1

def test_digits_at_their_size_are_unchanged():
    items = load_items(digits())
    small = items[items.index % 8 == 0]
    dls, plain = dataloaders(small, size=32, bs=32, presize=2), dataloaders(small, size=32, bs=32)
    assert dls.presized is None
    assert [type(t).__name__ for t in dls.train.after_batch.fs] == ['IntToFloatTensor']
    for d in ('train', 'valid'):   # the same pixels as the plain path, in the same order
        a, b = (getattr(o, d).new(shuffle=False).one_batch()[0] for o in (dls, plain))
        assert torch.equal(a, b)

def test_cost_scales_and_suggests_a_smaller_size():
    items = load_items(digits(size=16))
    dls = dataloaders(items, size=16, bs=64)
    learn = recipe_learner(dls, nn.Sequential(nn.Flatten(), nn.Linear(3*16*16, 10)))
    c1 = estimate_cost(learn, epochs=1)
    assert c1.size == 16 and c1.batches == len(dls.train) and c1.sec_batch > 0 and not c1.over
    c4 = estimate_cost(learn, epochs=4, timed=c1)
    assert abs((c4.seconds - c4.first) - 4*(c1.seconds - c1.first)) < 1e-9
    n = len(dls.train_ds)
    big, small_ = (estimate_cost(learn, plan=[(k, 1)], timed=c1) for k in (4*n, n//4))
    assert (big.batches, small_.batches) == (4*n//64, n//4//64)   # drop_last, as fastai trains
    assert big.seconds > 3*c1.seconds - 4*c1.first and small_.seconds < c1.seconds
    # fixed timings, as if measured at 224 px with no decoding: the size advice is arithmetic, not the machine's load
    c224 = dataclasses.replace(c1, size=224, sec_batch=0.1, sec_first=0., sec_valid=0.05)
    full = estimate_cost(learn, epochs=1, timed=c224).seconds
    tight = estimate_cost(learn, epochs=1, budget=full/2, timed=c224)
    assert tight.over and tight.fit_size == 128 and '--size 128' in tight.message and '--quick' in tight.message
    assert tight.at(128) <= tight.budget < tight.at(160)

@pytest.fixture
def large(tmp_path):
    "The committed sample's photos and logos only (96-130 px, median 96): larger than a 32 px model by 3x."
    for c in ('photos', 'logos'): shutil.copytree(FOLDER/c, tmp_path/'large'/c)
    return tmp_path/'large'

def test_auto_on_for_large_images_off_for_the_digits(large, real):
    items = load_items(large, valid_pct=0.25, seed=0)
    sides = {s: dataloaders(items, size=s, bs=8, cache_dir=large.parent/'cache').presized for s in (32, 48, 64)}
    assert sides == {32: 64, 48: 96, 64: None}           # on from 2 x size: decoded once at min(2 x size, 96 px)
    assert dataloaders(load_items(real[0], valid_pct=0.25, seed=0), size=16).presized is None   # median 48 px < 64 px
    dig = load_items(digits())
    for s in (8, 16, 32):                                 # the digits (32 px) at any size: the plain path, as before
        assert dataloaders(dig, size=s).presized is None
    for s in (16, 32, 48, 64):                            # the ladder skips its crop rung exactly where presizing crops
        on = dataloaders(items, size=s, bs=8, cache_dir=large.parent/'cache').presized is not None
        assert on == ('presizing' in (_crop_skip(items, s) or '')), s

def test_cache_in_the_run_folder(large, tmp_path):
    run = open_run(tmp_path/'run', large, seed=0, size=32)
    items = pd.concat([subset(run.items, 8), run.items[run.items.is_valid]])   # as the steps cut it: the run's attrs stay
    dls = dataloaders(items, size=32, bs=8)
    assert dls.presized == 64
    _epoch(dls)
    cached = list((tmp_path/'run'/'presized').glob('*.bmp'))
    assert len(cached) == len(items) and {Image.open(f).size for f in cached} == {(64, 64)}
    assert not list(large.rglob('*.bmp'))                 # nothing written beside the images
