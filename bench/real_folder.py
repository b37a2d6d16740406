"""A folder of real images, as a new user's folder looks: transparency, palettes, grey, 16-bit, CMYK, EXIF-rotated
photos, huge files, duplicates across classes and imbalanced classes. Built from images that ship inside packages
installed here (no network): matplotlib's toolbar icons and sample data, scikit-learn's sample photos.

Classes (by what the image shows, all real pixels; some re-encoded, cropped or resized):
  icons   matplotlib's toolbar icons: black line art on transparency, re-encoded the ways drawing programs store it
          (RGBA with black or white under the transparent pixels, LA, palette with a transparent colour), at 24-512 px
  photos  crops of Grace Hopper's portrait and scikit-learn's china/flower photos: RGB and CMYK JPEGs, grey and 16-bit
          grey PNGs, JPEGs stored sideways with an EXIF orientation tag (the pixels turned, the tag set: metadata)
  logos   matplotlib's logo (black under its transparent pixels, as shipped), the Minduka present (openclipart) and
          the matplotlib icon; one icon and one photo crop copied here too: the same picture under two classes
  huge files, in `photos` and `logos`: Grace Hopper upscaled past PIL's warning limit (~95 Mpixel, real pixels,
          nearest-neighbour so the PNG stays small), and matplotlib's logo upscaled past its error limit (~210 Mpixel)

Usage: python bench/real_folder.py [DEST] [--crops N] [--sample]
  DEST      default cache_dir()/'real_folder'; written once (a marker file), rebuilt with a new DEST
  --crops   crops per source photo (default 30): the size of the `photos` class
  --sample  (re)write the small committed sample, tests/data/real/, instead (no huge files but one 90-Mpixel grey PNG)
Licences: tests/data/real/LICENSE.md.
"""
import os, shutil, sys
from pathlib import Path
import numpy as np
from PIL import Image
import matplotlib, sklearn
from nnrecipe.data import cache_dir

MPL = Path(matplotlib.get_data_path())
ICONS = sorted(p for p in (MPL/'images').glob('*.png') if not p.stem.startswith('matplotlib'))
PHOTOS = [MPL/'sample_data'/'grace_hopper.jpg', *sorted((Path(sklearn.__file__).parent/'datasets'/'images').glob('*.jpg'))]
LOGOS = [MPL/'sample_data'/'logo2.png', MPL/'sample_data'/'Minduka_Present_Blue_Pack.png', MPL/'images'/'matplotlib_large.png']

def black_under(im:Image.Image)->Image.Image:
    "The same RGBA image as seen, with black stored under its fully transparent pixels (as many exporters write)."
    a = np.array(im.convert('RGBA')); a[a[..., 3] == 0, :3] = 0
    return Image.fromarray(a, 'RGBA')

def palette(im:Image.Image)->Image.Image:
    "A palette image with transparent entries (a PNG tRNS chunk), from an RGBA one."
    return im.convert('RGBA').quantize(16, method=Image.Quantize.FASTOCTREE)

def sideways(im:Image.Image, path:Path):
    "Save `im` stored turned a quarter (pixels rotated) with EXIF orientation 6, so a viewer shows it upright."
    ex = Image.Exif(); ex[0x0112] = 6
    im.convert('RGB').transpose(Image.ROTATE_90).save(path, quality=90, exif=ex.tobytes())

def crop(im:Image.Image, rng, side:int)->Image.Image:
    "A random square crop of 40-90% of the shorter side, resized to `side`."
    w, h = im.size; s = int(min(w, h)*rng.uniform(0.4, 0.9))
    x, y = rng.integers(0, w - s + 1), rng.integers(0, h - s + 1)
    return im.crop((x, y, x + s, y + s)).resize((side, side), Image.LANCZOS)

def icons(d:Path, names, sides=(None,)):
    "Each icon in four encodings, at each side (None: as shipped)."
    (d/'icons').mkdir(parents=True, exist_ok=True)
    for p in names:
        im = Image.open(p).convert('RGBA')
        for s in sides:
            x = im if s is None else im.resize((s, s), Image.LANCZOS); t = f'{p.stem}_{s or im.size[0]}'
            x.save(d/'icons'/f'{t}_rgba.png'); black_under(x).save(d/'icons'/f'{t}_black.png')
            x.convert('LA').save(d/'icons'/f'{t}_la.png'); palette(black_under(x)).save(d/'icons'/f'{t}_pal.png')

def photos(d:Path, n:int, side:int, rng):
    "`n` crops of each photo in the modes a real folder holds; every fifth stored sideways with an EXIF tag."
    (d/'photos').mkdir(parents=True, exist_ok=True)
    for p in PHOTOS:
        im = Image.open(p).convert('RGB')
        for i in range(n):
            c, t = crop(im, rng, side), d/'photos'/f'{p.stem}_{i:03d}'
            kind = i % 5
            if kind == 0: sideways(c, t.with_suffix('.jpg'))
            elif kind == 1: c.convert('L').save(t.with_suffix('.png'))
            elif kind == 2: Image.fromarray((np.asarray(c.convert('L')).astype(np.uint16)*257)).save(t.with_suffix('.png'))
            elif kind == 3: c.convert('CMYK').save(t.with_suffix('.jpg'), quality=90)
            else: c.save(t.with_suffix('.jpg'), quality=90)

def logos(d:Path, sides=(None,)):
    "The logos as shipped (and resized), plus one icon and one photo crop copied in: labels that conflict."
    (d/'logos').mkdir(parents=True, exist_ok=True)
    for p in LOGOS:
        for s in sides:
            im = Image.open(p); im = im if s is None else im.resize((s, s*im.size[1]//im.size[0]), Image.LANCZOS)
            im.save(d/'logos'/f'{p.stem}_{s or im.size[0]}.png')
    for f in [sorted((d/'icons').glob('home_*_rgba.png'))[0], sorted((d/'photos').glob('*_004.jpg'))[0]]:
        shutil.copy(f, d/'logos'/f.name)

def huge(d:Path, big:bool=True):
    "A real photo upscaled past PIL's warning limit; with `big`, a logo past its error limit too."
    gh = Image.open(PHOTOS[0]).convert('RGB')   # 512 x 600: x 17.6 is 9011 x 10560 = 95 Mpixel
    gh.resize((9011, 10560), Image.NEAREST).save(d/'photos'/'grace_hopper_95mpx.png')
    if big:   # palette + nearest neighbour: 210 Mpixel in a few MB, never decoded by nnrecipe
        logo = Image.open(LOGOS[0]).convert('RGBA')
        palette(logo).resize((30_000, 7_000), Image.NEAREST).save(d/'logos'/'logo2_210mpx.png')

def build(dest=None, crops:int=30, seed:int=0)->Path:
    "The full folder, written once into `dest` (default `cache_dir()/'real_folder'`)."
    d = Path(dest) if dest else cache_dir()/'real_folder'
    if (d/'.done').exists(): return d
    rng = np.random.default_rng(seed)
    icons(d, ICONS, sides=(None, 64, 128, 256, 512))
    photos(d, crops, 256, rng)
    logos(d, sides=(None, 256))
    huge(d)
    (d/'.done').write_text('ok')
    return d

def sample(dest=Path(__file__).parent.parent/'tests'/'data'/'real', seed:int=0)->Path:
    "The small sample committed for tests: a few of each kind, one 90-Mpixel grey PNG beside the class folders."
    f = dest/'folder'
    if f.exists(): shutil.rmtree(f)
    rng = np.random.default_rng(seed)
    names = [MPL/'images'/f'{n}.png' for n in ('home_large', 'back_large', 'forward_large', 'zoom_to_rect_large', 'move_large',
                                               'help_large', 'subplots_large')]
    icons(f, names)
    photos(f, 5, 96, rng)
    logos(f)
    ic = Image.open(MPL/'images'/'zoom_to_rect_large.png').convert('RGBA')
    flat = Image.new('RGB', ic.size, 'white'); flat.paste(ic, mask=ic.getchannel('A'))
    flat.convert('L').resize((10_000, 9_000), Image.NEAREST).save(dest/'huge_90mpx.png')
    return dest

if __name__ == '__main__':
    args = sys.argv[1:]
    crops = int(args[args.index('--crops') + 1]) if '--crops' in args else 30
    pos = [a for i, a in enumerate(args) if not a.startswith('--') and (i == 0 or args[i-1] != '--crops')]
    print(sample() if '--sample' in args else build(pos[0] if pos else None, crops))
