"Real images decoded as a person sees them: transparency on a stated background, EXIF upright, huge files (issue 18)."
import struct, warnings, zlib
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from PIL import Image, ImageFile
from fastai.vision.all import PILImage
import nnrecipe.scan as scan_mod
from nnrecipe.data import ImageTooLarge, dataloaders, image_size, load_items, open_image
from nnrecipe.scan import scan
from nnrecipe.issues import find_issues

REAL = Path(__file__).parent/'data'/'real'
FOLDER = REAL/'folder'
LINE_ART = sorted((FOLDER/'icons').glob('*_black.png')) + sorted((FOLDER/'icons').glob('*_pal.png'))

def _png_header(path, w, h):
    "A PNG that is only a header (IHDR, IEND): PIL reads its size, and refuses it before decoding any pixel."
    chunk = lambda t, b: struct.pack('>I', len(b)) + t + b + struct.pack('>I', zlib.crc32(t + b))
    Path(path).write_bytes(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
                           chunk(b'IEND', b''))

def test_sample_is_real_and_varied():
    "The committed sample holds what a real folder holds (bench/real_folder.py --sample writes it)."
    items = load_items(FOLDER)
    modes = {Image.open(f).mode for f in items.fname}
    assert {'RGBA', 'LA', 'P', 'L', 'I;16', 'CMYK', 'RGB'} <= modes, modes
    assert items.label.value_counts().to_dict() == {'icons': 28, 'photos': 15, 'logos': 5}
    assert sum(f.stat().st_size for f in REAL.rglob('*') if f.is_file()) < 2_000_000
    assert (REAL/'LICENSE.md').exists()

def test_line_art_on_transparency_in_the_batch():
    "Black line art on a transparent background comes out black lines on white in the batch, not an all-black square."
    items = load_items(FOLDER, seed=0)
    items['is_valid'] = items.fname.isin([str(f) for f in LINE_ART]) | (items.index % 4 == 0)
    assert max(np.asarray(PILImage.create(f)).max() for f in LINE_ART[:7]) == 0   # fastai's loader: all black
    dls = dataloaders(items, size=32, bs=len(items), num_workers=0)
    xb, _ = dls.valid.one_batch()
    valid = items[items.is_valid].reset_index(drop=True)
    for f in LINE_ART:
        x = xb[valid.index[valid.fname == str(f)][0]].as_subclass(torch.Tensor).cpu().numpy()
        assert x[:, 0, 0].min() > 0.95 and x.min() < 0.2, (f.name, x[:, 0, 0], x.min())   # white ground, dark lines
        assert 0.5 < x.mean() < 0.95, (f.name, x.mean())

def test_line_art_not_dark_nor_blank(tmp_path):
    "The scan sees the line art on white: not dark, not blank; the summary states the background; black brings it back."
    df = scan(FOLDER, progress=False, n_workers=1, cache_path=tmp_path/'c.sqlite')
    fi = find_issues(df)
    flagged = set(fi.flagged.fname[fi.flagged.issue.isin(['dark', 'blank'])])
    assert not flagged & {str(f) for f in LINE_ART}, sorted(flagged)
    n_alpha = int(df.alpha.sum())
    assert n_alpha >= len(LINE_ART) + 14   # the icons (RGBA, LA, palette) and the transparent logos
    assert fi.background == f'transparency composited onto white (255, 255, 255): {n_alpha} of 48 images have transparency'
    assert fi.background in repr(fi)
    on_black = find_issues(scan(FOLDER, progress=False, n_workers=1, cache_path=tmp_path/'c.sqlite', bg='black'))
    assert on_black.background.startswith('transparency composited onto black (0, 0, 0)')
    assert {str(f) for f in LINE_ART} <= set(on_black.rows('dark').fname)   # the cache kept the backgrounds apart

def test_exif_rotated_arrive_upright():
    "JPEGs stored sideways with EXIF orientation 6 arrive upright: from open_image and in the DataLoaders' items."
    rotated = sorted((FOLDER/'photos').glob('*_000.jpg'))
    assert len(rotated) == 3 and all(Image.open(f).getexif().get(0x0112) == 6 for f in rotated)
    items = load_items(FOLDER, seed=0)
    dls = dataloaders(items, size=32, bs=8, num_workers=0)
    for f in rotated:
        stored = Image.open(f).convert('RGB')
        upright = np.asarray(stored.transpose(Image.ROTATE_270))   # what orientation 6 asks a viewer to show
        assert np.array_equal(np.asarray(open_image(f)), upright)
        assert np.abs(np.asarray(stored).astype(int) - upright).mean() > 10   # the crops are square: not trivially equal
        i = items.index[items.fname == str(f)][0]
        split = items.is_valid[:i] == items.is_valid[i]          # its place among the items of its split
        ds = dls.valid_ds if items.is_valid[i] else dls.train_ds
        assert np.array_equal(np.asarray(ds[int(split.sum())][0]), upright)

def test_huge_decoded_once_and_counted(tmp_path, monkeypatch):
    "A 90-Mpixel PNG (between PIL's limits) is decoded once, without warnings, and counted; a second scan reads the cache."
    decoded, real = [], scan_mod._decode
    monkeypatch.setattr(scan_mod, '_decode', lambda data, r, *a: decoded.append(len(data)) or real(data, r, *a))
    files = [REAL/'huge_90mpx.png', *sorted((FOLDER/'icons').glob('home*'))]
    with warnings.catch_warnings():
        warnings.simplefilter('error', Image.DecompressionBombWarning)
        df = scan(files, progress=False, n_workers=1, cache_path=tmp_path/'c.sqlite')
        again = scan(files, progress=False, n_workers=1, cache_path=tmp_path/'c.sqlite')
    assert len(decoded) == len(files) and df.readable.all()   # each once: the second scan decoded nothing
    pd.testing.assert_frame_equal(df, again)
    fi = find_issues(df)
    assert fi.counts()['huge'] == 1 and fi.rows('huge').reason.tolist() == ['10000x9000 px = 90 Mpixel']
    assert 'dark' not in fi.counts() and 'blank' not in fi.counts()

def test_over_the_limit_reported_never_decoded(tmp_path, monkeypatch):
    "A 210-Mpixel PNG is reported unreadable with its reason, and no pixel of it is decoded."
    (tmp_path/'a').mkdir(); _png_header(tmp_path/'a'/'huge.png', 15_000, 14_000)
    loads, real = [], ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, 'load', lambda self: loads.append(self.size) or real(self))
    df = scan([tmp_path/'a'/'huge.png'], progress=False, n_workers=1, cache=False)
    assert not df.readable[0] and 'too large to decode safely' in df.error[0] and '210000000 pixels' in df.error[0]
    with pytest.raises(ImageTooLarge, match=r'huge.png is 210 Mpixel, over PIL.s limit of 179 Mpixel'):
        open_image(tmp_path/'a'/'huge.png')
    assert loads == []
    assert find_issues(df).counts() == {'unreadable': 1}

def test_huge_decoded_once_without_presizing(tmp_path, monkeypatch):
    "Small images, presizing off: the one 90-Mpixel PNG among them is decoded once in two epochs, then read from the cache."
    import shutil
    from nnrecipe.data import _open_image
    for f in sorted((FOLDER/'icons').glob('*_rgba.png')) + sorted((FOLDER/'icons').glob('*_la.png')):
        d = tmp_path/'imgs'/f.stem.split('_')[-1]; d.mkdir(parents=True, exist_ok=True); shutil.copy(f, d)
    shutil.copy(REAL/'huge_90mpx.png', tmp_path/'imgs'/'la')
    items = load_items(tmp_path/'imgs', valid_pct=0.25)
    items.loc[items.fname.str.endswith('huge_90mpx.png'), 'is_valid'] = False
    import nnrecipe.data as data_mod
    opened, real = [], data_mod.open_image   # every decode goes through it
    monkeypatch.setattr(data_mod, 'open_image', lambda fn, *a, **k: opened.append(image_size(fn)) or real(fn, *a, **k))
    dls = dataloaders(items, size=32, bs=4, presize=0, cache_dir=tmp_path/'cache')
    assert dls.presized is None                                    # the plain path: the icons are 48 px
    for _ in range(2):
        for dl in (dls.train, dls.valid):
            for _ in dl: pass
    assert opened.count((10000, 9000)) == 1 and len(opened) > 2*len(items)   # decoded once, not once an epoch
    assert len(list((tmp_path/'cache').glob('*.bmp'))) == 1        # and only it is cached
    huge = items.fname[items.fname.str.endswith('huge_90mpx.png')].iloc[0]
    got = dls.train.after_item(dls.train.dataset[int(np.flatnonzero(dls.train.items.fname == huge)[0])])[0]
    want = np.asarray(_open_image(huge, max_side=32).resize((32, 32), Image.BILINEAR)).transpose(2, 0, 1)
    assert got.shape == (3, 32, 32) and np.abs(got.numpy().astype(int) - want.astype(int)).mean() < 8   # the same picture
