"""The docs site (tools/build_docs.py, `make docs`): every page built offline into a temporary folder, every
page titled as its notebook, navigation as nbs/sidebar.yml says, links and images resolving, show_doc and outputs shown."""
import functools, hashlib, os, re, subprocess, sys
from pathlib import Path
from urllib.parse import urlsplit, unquote
import pytest, yaml

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT/'nbs'
sys.path.insert(0, str(ROOT/'tools'))
import build_docs as bd

# every page of the site, as `make docs` builds it (about 3 minutes on 2 cores: each notebook is executed, as nbdev-test does)
BUILT = sorted(p.stem for p in NBS.glob('*.ipynb'))

def _need_docs_deps():
    import importlib.util
    missing = [m for m in ('sphinx', 'myst_nb', 'pydata_sphinx_theme', 'bs4') if importlib.util.find_spec(m) is None]
    assert not missing, f"docs dependencies missing: {missing}; install them with: pip install -e '.[docs]'"

def _h1(nb_path):
    "The notebook's title: its first markdown H1."
    import nbformat
    nb = nbformat.read(nb_path, as_version=4)
    for c in nb.cells:
        m = c.cell_type == 'markdown' and re.search(r'^#\s+(\S.*?)\s*$', c.source, re.M)
        if m: return m.group(1)

def _snapshot():
    "What a docs build must leave alone in the repo: _proc/, _docs/ and the nbs/ config files."
    res = {d: sorted(str(p.relative_to(ROOT)) for p in (ROOT/d).rglob('*')) if (ROOT/d).exists() else None
           for d in ('_proc', '_docs')}
    for f in sorted(NBS.glob('*.yml')) + sorted(NBS.glob('*.css')): res[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()
    return res

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    _need_docs_deps()
    tmp = tmp_path_factory.mktemp('docs')
    before = _snapshot()
    # --strict: a cell that raises fails the build; one thread per notebook, two notebooks at a time (as `make test`)
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--renderer', 'sphinx', '--only', *BUILT,
                        '--strict', '--jobs', '2', '--out', str(tmp/'site'), '--proc', str(tmp/'proc')], cwd=ROOT,
                       capture_output=True, text=True, timeout=900, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    assert _snapshot() == before, 'the docs build changed _proc/, _docs/ or nbs/*.yml in the repo'
    return tmp/'site', r.stdout + r.stderr

def _soup(p): return _parse(Path(p).resolve())

@functools.lru_cache(maxsize=None)
def _parse(p):
    from bs4 import BeautifulSoup
    return BeautifulSoup(p.read_text(), 'html.parser')

def _pages(site):
    "{notebook stem: html file} for the notebooks built, named as nbdev names them (01_data -> data.html)."
    from nbdev.config import nbpath2html
    return {n: site/nbpath2html(NBS/f'{n}.ipynb').name for n in BUILT}

def _resolve(page, href):
    "The file (and fragment) a relative link on `page` points to; None for external links."
    u = urlsplit(href)
    if u.scheme or u.netloc: return None
    return (page.parent/unquote(u.path)).resolve() if u.path else page.resolve(), u.fragment

def test_every_notebook_ran_as_nbdev_test_runs_it(site):
    "`make test`'s notebook tests: the build executed every nbs/ notebook (tst_flags cells skipped, as nbdev-test) cleanly."
    _, log = site
    ran = {m.group(1): m.group(2) for m in re.finditer(r'^  (\S+)\.ipynb: [\d.]+ s(.*)$', log, re.M)}
    assert sorted(ran) == BUILT, f'notebooks not executed: {sorted(set(BUILT) - set(ran))}'
    assert not any(ran.values()), {n: v for n, v in ran.items() if v}

def test_pages_exist_with_their_titles(site):
    site, log = site
    for n, page in _pages(site).items():
        assert page.exists(), f'{page.name} missing for nbs/{n}.ipynb; built: {sorted(p.name for p in site.glob("*.html"))}'
        s, title = _soup(page), _h1(NBS/f'{n}.ipynb')
        assert title, f'nbs/{n}.ipynb has no H1'
        assert s.find('h1').get_text(strip=True).rstrip('#') == title
        assert s.title.get_text().startswith(title)
        assert '#|' not in s.find('main').get_text(), f'{page.name}: a cell directive leaked into the page'

def test_index_keeps_the_text_below_its_title(site):
    "nbdev turns the H1 cell into front matter and drops the rest of that cell; the build keeps it."
    import nbformat
    site, _ = site
    nb = nbformat.read(NBS/'index.ipynb', as_version=4)
    md = next(c for c in nb.cells if c.cell_type == 'markdown')
    body = [l for l in md.source.splitlines()[1:] if l.strip() and not l.startswith(('>', '#'))]
    text = ' '.join(_soup(site/'index.html').find('main').get_text().replace('\u2019', "'").split())
    for line in body[:3]:
        words = re.sub(r'[*_`\[\]]|\(.*?\)', '', re.sub(r'^\s*(\d+\.|[-*])\s+', '', line)).split()[:6]
        assert ' '.join(words) in text, f'index.html lost: {line!r}'

def test_sidebar_follows_sidebar_yml_and_resolves(site):
    site, _ = site
    pages = _pages(site)
    want = []  # sidebar.yml's order, restricted to the notebooks built
    for cap, entries in bd.read_sidebar(NBS):
        for e in entries:
            if Path(e).stem in BUILT: want.append(pages[Path(e).stem].resolve())
    assert len(want) == len(BUILT), f'every built notebook should be in nbs/sidebar.yml: {want}'
    for page in pages.values():
        nav = _soup(page).select('nav.bd-docs-nav a[href]')
        got = []
        for a in nav:
            f, _ = _resolve(page, a['href'])
            assert f.exists(), f'{page.name}: sidebar link {a["href"]} does not resolve'
            if f not in got: got.append(f)
        assert got == want, f'{page.name}: sidebar order {[p.name for p in got]} != sidebar.yml {[p.name for p in want]}'
    captions = [c.get_text(strip=True) for c in _soup(pages['01_data']).select('nav.bd-docs-nav p.caption')]
    sections = [cap for cap, es in bd.read_sidebar(NBS) if cap and any(Path(e).stem in BUILT for e in es)]
    assert captions == sections

def test_links_images_and_anchors_resolve(site):
    site, _ = site
    for page in sorted(site.glob('*.html')):
        s = _soup(page)
        for tag, attr in (('a', 'href'), ('img', 'src'), ('script', 'src'), ('link', 'href')):
            for el in s.find_all(tag):
                v = el.get(attr)
                if not v or v.startswith(('mailto:', 'javascript:', 'data:')): continue
                res = _resolve(page, v)
                assert res is not None or tag == 'a', f'{page.name}: <{tag}> loads {v} from another host'
                if res is None: continue
                f, frag = res
                assert f.exists(), f'{page.name}: <{tag} {attr}="{v}"> is broken'
                if frag and f.suffix == '.html' and tag == 'a':
                    assert _soup(f).find(id=frag), f'{page.name}: link {v}: no id {frag!r} in {f.name}'

def test_show_doc_and_outputs_rendered(site):
    site, _ = site
    data = _soup(site/'data.html')
    main = data.find('main')
    assert 'show_doc(' not in main.get_text(), 'show_doc input cells should be hidden'
    assert main.find(id='load_items'), "show_doc heading lacks the id nbdev's links use (#load_items)"
    sigs = [pre.get_text() for pre in main.find_all('pre')]
    assert any(re.search(r'def load_items\(', t) for t in sigs), 'show_doc signature of load_items not rendered'
    # links nbdev wrote between pages (e.g. [`load_items`](/data.html#load_items)) were made relative
    assert main.find('a', href='#load_items') or main.find('a', href='data.html#load_items')
    # code outputs: the index's show_batch figure and its table of counts
    index = _soup(site/'index.html').find('main')
    imgs = [site/i['src'] for i in index.find_all('img')]
    assert imgs and all(p.exists() and p.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n' and p.stat().st_size > 5_000 for p in imgs)
    assert '1438' in index.get_text() and '359' in index.get_text(), 'the digits split counts are not shown'

def test_no_network_assets(site):
    site, _ = site
    assert bd.external_assets(site) == []

# ---- the markdown mapping, on its own (no build) ---------------------------------------------------------------

def test_fix_md():
    s = bd.Site(NBS, {'01_data.ipynb': 'data', 'index.ipynb': 'index', 'sub/01_x.ipynb': 'sub/x'})
    md = s.fix_md('See [`load_items`](/data.html#load_items){target="_blank"} and [x](01_data.ipynb).', 'index')
    assert md == 'See <a href="data.html#load_items">`load_items`</a> and <a href="data.html">x</a>.'
    assert s.fix_md('[a](/data.html#b)', 'sub/x') == '<a href="../data.html#b">a</a>'
    assert s.fix_md('[source](/blob/main/nnrecipe/data.py#L18){target="_blank"}', 'data') == ''  # no git_url: no link
    assert s.fix_md('[fastai](https://docs.fast.ai)', 'data') == '[fastai](https://docs.fast.ai)'
    assert s.fix_md('::: {.callout-note}\nHi\n:::\n::: {.py-2}\nx\n:::', 'data') == ':::{note}\nHi\n:::\nx'
    assert s.fix_md('::: {.callout-tip title="Why"}\nHi\n:::', 'data') == ':::{admonition} Why\n:class: tip\nHi\n:::'

def test_split_title_cell():
    from fastcore.nbio import dict2nb, mk_cell
    nb = dict2nb({'cells': [mk_cell('# T\n\n> sub\n\nBody\n\n- a: b', 'markdown')], 'metadata': {}})
    bd._split_title_cell(nb)
    assert [c.source for c in nb.cells] == ['# T\n\n> sub', 'Body\n\n- a: b']
    nb = dict2nb({'cells': [mk_cell('# T\n> sub', 'markdown')], 'metadata': {}})
    bd._split_title_cell(nb)
    assert [c.source for c in nb.cells] == ['# T\n> sub']

def test_read_sidebar(tmp_path):
    (tmp_path/'sidebar.yml').write_text(yaml.safe_dump({'website': {'sidebar': {'contents': [
        'index.ipynb', {'section': 'A', 'contents': ['00_a.ipynb', '01_b.ipynb']}, '02_c.ipynb']}}}))
    assert bd.read_sidebar(tmp_path) == [(None, ['index.ipynb']), ('A', ['00_a.ipynb', '01_b.ipynb']), (None, ['02_c.ipynb'])]

def test_missing_sidebar_entry_fails_loudly(tmp_path):
    (tmp_path/'00_a.ipynb').write_text('{}')
    (tmp_path/'sidebar.yml').write_text(yaml.safe_dump({'website': {'sidebar': {'contents': [
        '00_a.ipynb', {'section': 'B', 'contents': ['05_gone.ipynb', 'https://docs.fast.ai']}]}}}))
    assert bd.missing_sidebar_entries(tmp_path) == ['05_gone.ipynb']

def test_sidebar_in_sync_with_nbs():
    "Every notebook of nbs/ has its page in the navigation, and every sidebar entry exists: new pages are never orphans."
    listed = {Path(e).as_posix() for _, es in bd.read_sidebar(NBS) for e in es if '://' not in e}
    have = {p.relative_to(NBS).as_posix() for p in NBS.glob('*.ipynb') if not p.name.startswith(('_', '.'))}
    assert not bd.missing_sidebar_entries(NBS), f'nbs/sidebar.yml lists missing notebooks: {bd.missing_sidebar_entries(NBS)}'
    assert have <= listed, f'notebooks missing from nbs/sidebar.yml: {sorted(have - listed)}'

# ---- the built site in a real browser ----------------------------------------------------------------------------

def _browse(pages):
    "Open each page in Debian's headless chromium: failed requests, images that did not decode, broken internal links/anchors."
    from playwright.sync_api import sync_playwright
    from test_review_browser import _chromium  # apt-get installs Debian's chromium when missing
    failed, imgs, links, ids = [], [], set(), {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=['--headless', '--no-sandbox', '--disable-gpu',
                                                                        '--disable-background-networking'])
        try:
            page = browser.new_page()
            page.on('requestfailed', lambda r: failed.append((page.url, r.url, r.failure)))
            for p in pages:
                resp = page.goto(Path(p).resolve().as_uri(), wait_until='load', timeout=60_000)
                assert resp is None or resp.ok, f'{p.name} did not load'
                assert page.title(), f'{p.name} has no title'
                imgs += [(p.name, u) for u in page.evaluate(
                    "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")]
                ids[Path(p).resolve()] = set(page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
                links |= {(p.name, h) for h in page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
                          if h.startswith('file:')}
        finally: browser.close()
    broken = []
    for name, href in sorted(links):
        u = urlsplit(href)
        target = Path(unquote(u.path)).resolve()
        if not target.exists(): broken.append((name, href))
        elif u.fragment and target in ids and unquote(u.fragment) not in ids[target]: broken.append((name, href))
    return dict(failed=failed, images=imgs, links=broken)

def test_every_page_loads_in_headless_chromium(site):
    "Each built page opened in Debian's chromium: no request fails, every image decodes, every internal link and anchor resolves."
    site, _ = site
    pages = sorted(site.glob('*.html'))
    assert len(pages) >= len(BUILT)
    res = _browse(pages)
    assert res == dict(failed=[], images=[], links=[]), res

def test_the_browser_check_sees_breakage(tmp_path):
    "The same check on a page with a missing image, a dead link and a dead anchor reports all three."
    (tmp_path/'ok.html').write_text('<html><head><title>ok</title></head><body id="top">fine</body></html>')
    (tmp_path/'bad.html').write_text('<html><head><title>bad</title></head><body><img src="gone.png">'
                                     '<a href="missing.html">x</a><a href="ok.html#nowhere">y</a><a href="ok.html#top">z</a></body></html>')
    res = _browse([tmp_path/'bad.html', tmp_path/'ok.html'])
    assert [u.rsplit('/', 1)[-1] for _, u in res['images']] == ['gone.png']
    assert sorted(h.rsplit('/', 1)[-1] for _, h in res['links']) == ['missing.html', 'ok.html#nowhere']
    assert any(u.endswith('gone.png') for _, u, _ in res['failed'])
