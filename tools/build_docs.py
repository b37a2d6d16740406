#!/usr/bin/env python
"""Build the docs site from nbs/ (`make docs`).

Where Quarto is installed this is nbdev's own `nbdev-docs`. Where it is not (Quarto's installer downloads a release
binary, which an offline machine cannot do) the same nbdev-processed notebooks are rendered offline:

1. each notebook in nbs/ is executed as `nbdev-test` executes it (same skipped cells, same working folder), so the
   pages show code outputs (tables, `show_batch` figures) although notebooks are committed without them;
2. it is processed by nbdev's own doc processors, exactly what `nbdev-proc-nbs` runs (front matter, `show_doc`,
   hidden and exported cells), into `_proc/`;
3. what Quarto would read there (front matter, `#| echo/output/include` directives, pandoc link attributes and
   callouts, root-relative doc links) is mapped to MyST, and Sphinx + myst-nb + pydata-sphinx-theme render it into
   `_docs/`, the navigation following nbs/sidebar.yml. Everything the site needs is copied next to it: it reads offline.

    python tools/build_docs.py                          # the whole site into _docs/
    python tools/build_docs.py --only index 01_data --out /tmp/site --proc /tmp/proc   # a subset, elsewhere

A notebook that raises while executing still gets its page (with the traceback) and is listed at the end; warnings
never fail the build; `--strict` makes notebook errors fail it. An nbs/sidebar.yml entry whose notebook does not exist
fails the build at once, before anything is executed: the sidebar and nbs/ are kept in sync by hand.
"""
from __future__ import annotations
import argparse, json, multiprocessing as mp, os, re, shutil, subprocess, sys, tempfile, time, traceback, warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat, yaml

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------------------------
# Steps 1 and 2, in a fresh process per notebook: execute as nbdev-test does, then nbdev's doc processing

def _split_title_cell(nb):
    "Keep the H1 cell to title + '> subtitle': nbdev turns that cell into front matter and drops the rest of it."
    from fastcore.nbio import mk_cell
    md = next((c for c in nb.cells if c.cell_type == 'markdown'), None)
    if md is None or not re.search(r'^#\s+\S', md.source, re.M): return
    lines = md.source.splitlines()
    i = next(i for i,l in enumerate(lines) if re.match(r'^#\s+\S', l))
    j = i + 1
    while j < len(lines) and not lines[j].strip(): j += 1
    if j < len(lines) and lines[j].startswith('>'): j += 1
    head, rest = lines[:j], lines[j:]
    if not '\n'.join(rest).strip(): return
    md.source = '\n'.join(head)
    nb.cells.insert(nb.cells.index(md) + 1, mk_cell('\n'.join(rest).strip('\n'), 'markdown'))


def _error_outputs(nb):
    return [(i, o.get('ename', ''), o.get('evalue', '')) for i,c in enumerate(nb.cells) if c.cell_type == 'code'
            for o in c.get('outputs', []) if o.get('output_type') == 'error']


def _stub_nb(src, proc, msg):
    "A processed notebook saying the page could not be built, so the site and its links stay whole."
    from fastcore.nbio import mk_cell, read_nb, write_nb, dict2nb
    from nbdev.config import nbpath2html
    try: nb = read_nb(src)
    except Exception: nb = dict2nb({'cells': [], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5})  # half-written
    title = Path(src).stem
    for c in nb.cells:
        m = c.cell_type == 'markdown' and re.search(r'^#\s+(\S.*?)\s*$', c.source, re.M)
        if m: title = m.group(1); break
    fm = {'title': title, 'output-file': nbpath2html(Path(src)).name}
    nb.cells = [mk_cell(f'---\n{yaml.safe_dump(fm)}---\n', 'raw'),
                mk_cell(f'This page could not be built:\n\n```\n{msg}\n```', 'markdown')]
    write_nb(nb, proc)


def _lenient_filter():
    "nbdev's doc processors, except that a cell failing under `exec_show_docs` keeps the outputs it had."
    from nbdev.processors import FilterDefaults, exec_show_docs
    class lenient_exec_show_docs(exec_show_docs):
        def __call__(self, cell):
            outs = cell.get('outputs')
            try: super().__call__(cell)
            except Exception:
                self.k.exc = None
                if outs is not None: cell['outputs'] = outs
    class LenientFilter(FilterDefaults):
        def base_procs(self): return [lenient_exec_show_docs if p is exec_show_docs else p for p in super().base_procs()]
    return LenientFilter


def build_nb(src, stage, proc, execute=True, skip_flags=(), cell_timeout=None):
    "Execute notebook `src` (cwd: its folder) into `stage`, then process it with nbdev's doc processors into `proc`."
    os.environ['IN_TEST'] = '1'  # as under nbdev-test and nbdev-proc-nbs
    os.chdir(ROOT)              # nbdev's processors read the config from the working folder
    from fastcore.nbio import write_nb
    from fastcore.xtras import working_directory
    from nbdev.process import NBProcessor
    from nbdev.test import nb_test_cells
    from nbdev.processors import FilterDefaults
    import nbdev.serve_drv
    src, stage, proc = Path(src), Path(stage), Path(proc)
    stage.parent.mkdir(parents=True, exist_ok=True); proc.parent.mkdir(parents=True, exist_ok=True)
    res = dict(nb=src.name, errors=[], failed=None, secs=0.)
    t0 = time.time()
    nb = NBProcessor(src, rm_directives=False, process=True).nb
    if execute:
        from execnb.shell import CaptureShell
        from nbdev.config import get_config
        if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
        run = {c.idx_ for c in nb_test_cells(src, list(skip_flags))}
        k = CaptureShell(src, profile=bool(get_config().exec_profile))
        try:
            with working_directory(src.parent):
                k.run_all(nb, exc_stop=False, preproc=lambda c: c.idx_ not in run, cell_timeout=cell_timeout)
        except Exception as e: res['errors'].append((-1, type(e).__name__, str(e)))
        finally: k.close()
        res['errors'] += _error_outputs(nb)
    _split_title_cell(nb)
    write_nb(nb, stage)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        try: nbdev.serve_drv.main((stage, proc, FilterDefaults))
        except Exception as e:
            # nbdev-docs would stop here too (typically an import cell that also uses names from cells nbdev does not
            # run). The page is still worth having: process again, keeping such a cell's output from the full run.
            res['failed'] = f'{type(e).__name__}: {e}'
            try: nbdev.serve_drv.main((stage, proc, _lenient_filter()))
            except Exception: _stub_nb(src, proc, traceback.format_exc(limit=3))
    # nbdev warns, with the whole cell, about each cell mixing imports with other code: keep the first line of each
    mixed = [str(w.message).split('---\n')[1].strip().splitlines() for w in ws if 'imports and other code' in str(w.message)]
    res['mixed'] = sorted({next((l for l in m if not l.startswith('#|')), '') for m in mixed if m})
    res['secs'] = time.time() - t0
    return res

# ---------------------------------------------------------------------------------------------------------------
# Step 3: map the processed notebooks to MyST and render with Sphinx

_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$')
_callouts = dict(note='note', tip='tip', warning='warning', important='important', caution='caution')


def _make_id(s):
    "The id docutils gives a heading, for the anchors of nbdev's doc links (Quarto keeps '_' and '.', docutils not)."
    from docutils.nodes import make_id
    return make_id(s) or s


class Site:
    "The docnames of the site, and the markdown fixes that need them (links between pages)."
    def __init__(self, nbs_path, pages):
        self.nbs_path, self.pages = Path(nbs_path), pages  # pages: {notebook rel path: docname}
        self.by_html = {Path(d).with_suffix('.html').as_posix(): d for d in pages.values()}

    def _link(self, url, docname):
        "A link written for Quarto (root-relative `/data.html#x`, or `01_data.ipynb`) made relative; None: no target."
        if re.match(r'^[a-z][a-z0-9+.-]*:', url, re.I) or url.startswith('#'): return url
        path, _, frag = url.partition('#')
        here = Path(docname).parent
        if path.startswith('/'): target = path.lstrip('/')
        else: target = (here/path).as_posix()
        target = os.path.normpath(target)
        if target.endswith(('.ipynb', '.qmd')):
            d = self.pages.get(target) or self.pages.get(Path(target).with_suffix('.ipynb').as_posix())
            if not d: return None  # a page not built (--only)
            target = d + '.html'
        if path.startswith('/') and target not in self.by_html: return None  # e.g. show_doc's [source] without git_url
        if not path.startswith('/') and not target.endswith('.html') and not (self.nbs_path/target).exists(): return None
        rel = os.path.relpath(target, here.as_posix() or '.')
        return rel + ('#' + frag if frag else '')

    def fix_md(self, text, docname):
        "Quarto/pandoc markdown as nbdev writes it, made MyST."
        text = re.sub(r'(\]\([^)\s]*\))\{[^}\n]*\}', r'\1', text)  # [x](url){target="_blank"}: pandoc attributes
        def _sub(m):
            label, url = m.group(1), m.group(2)
            new = self._link(url, docname)
            if new is None: return '' if label == 'source' else label  # e.g. show_doc's [source] without git_url
            if re.match(r'^[a-z][a-z0-9+.-]*:', new, re.I): return f'[{label}]({new})'
            return f'<a href="{new}">{label}</a>'  # a plain link: MyST would try to resolve it as a cross-reference
        text = re.sub(r'(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)', _sub, text)
        out, stack = [], []
        for line in text.splitlines():
            m = re.match(r'^(:{3,})\s*(\{.*\})?\s*$', line)
            if m and m.group(2):  # opening pandoc div
                c = re.search(r'\.callout-(\w+)', m.group(2))
                t = re.search(r'title="([^"]*)"', m.group(2))
                if c:
                    kind = _callouts.get(c.group(1), 'note')
                    out += [f':::{{admonition}} {t.group(1)}', f':class: {kind}'] if t else [f':::{{{kind}}}']
                stack.append(bool(c)); continue
            if m and stack:
                if stack.pop(): out.append(':::')
                continue
            out.append(line)
        return '\n'.join(out)

    def asis_md(self, text, docname):
        "Markdown output placed in the page (Quarto's `output: asis`), e.g. show_doc's signature and parameter table."
        text = self.fix_md(text, docname)
        # show_doc opens with a '---' rule; docutils refuses a section that starts with a transition
        text = re.sub(r'^\s*---\s*$', '\n<hr class="nb-showdoc-rule">\n', text, flags=re.M)
        # anchors as Quarto names them (nbdev's doc links use these): '### load_items' -> #load_items
        return re.sub(r'^(#{2,6})\s+(\S[^\n]*?)\s*$',
                      lambda m: f'\n<span id="{m.group(2).strip("`").lower()}"></span>\n\n{m.group(0)}'
                                if m.group(2).strip('`').lower() != _make_id(m.group(2)) else m.group(0),
                      text, flags=re.M)


def _directives(src):
    "Quarto cell options (`#| key: value` lines at the top) and the source without them."
    lines, opts = src.splitlines(), {}
    while lines and (m := _re_dir.match(lines[0])): opts[m.group(1)] = m.group(2).strip('\'"').lower(); lines.pop(0)
    return opts, '\n'.join(lines)


def _output(o):
    "A cell output as nbformat 4 validates it (an execution count on results only)."
    o = nbformat.from_dict({k:v for k,v in o.items() if k != 'execution_count' or o.get('output_type') == 'execute_result'})
    if o.output_type == 'execute_result': o.setdefault('execution_count', None)
    return o


def to_myst(nb_path, site, docname):
    "A processed notebook (`_proc/`) as a notebook myst-nb renders as Quarto would: (nb, title)."
    from nbformat.v4 import new_markdown_cell, new_code_cell, new_notebook
    raw = json.loads(Path(nb_path).read_text())
    fm, cells = {}, []
    for c in raw['cells']:
        src = ''.join(c.get('source', ''))
        if c['cell_type'] == 'raw':
            m = re.match(r'^\s*---\s*\n(.*?)\n---\s*$', src, re.S)
            if m and not fm: fm = yaml.safe_load(m.group(1)) or {}
            continue
        if c['cell_type'] == 'markdown':
            if 'AUTOGENERATED! DO NOT EDIT' in src and len(src) < 80: continue
            cells.append(new_markdown_cell(site.fix_md(src, docname))); continue
        opts, code = _directives(src)
        if opts.get('include') == 'false': continue
        outs = c.get('outputs', [])
        asis = opts.get('output') == 'asis'
        md_outs = [o for o in outs if asis and 'text/markdown' in o.get('data', {})]
        outs = [o for o in outs if o not in md_outs]
        tags = []
        if opts.get('echo') == 'false' or not code.strip(): tags.append('remove-input')
        if opts.get('output') == 'false': tags.append('remove-output')
        if not ('remove-input' in tags and not outs):
            cell = new_code_cell(code, metadata={'tags': tags} if tags else {})
            cell.outputs = [_output(o) for o in outs]
            cells.append(cell)
        for o in md_outs:
            md = o['data']['text/markdown']
            cells.append(new_markdown_cell(site.asis_md(''.join(md) if isinstance(md, list) else md, docname)))
    title = str(fm.get('title') or Path(nb_path).stem)
    head = f'# {title}'
    if fm.get('description'): head += '\n\n{.nb-description}\n' + str(fm['description'])
    nb = new_notebook(cells=[new_markdown_cell(head)] + cells,
                      metadata={'kernelspec': raw.get('metadata', {}).get('kernelspec',
                                    {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'}),
                                'language_info': {'name': 'python'}})
    ws = raw.get('metadata', {}).get('widgets', {}).get('application/vnd.jupyter.widget-state+json', {})
    if ws.get('state'): nb.metadata['widgets'] = raw['metadata']['widgets']  # only then myst-nb adds widget JS
    nbformat.validate(nb)
    return nb, title


def missing_sidebar_entries(nbs_path):
    "Entries of nbs/sidebar.yml with no file behind them (links to other sites aside)."
    return [e for _, es in read_sidebar(nbs_path) for e in es if '://' not in e and not (Path(nbs_path)/e).exists()]


def read_sidebar(nbs_path):
    "nbs/sidebar.yml as [(caption or None, [entries])]; an entry is a path relative to nbs/."
    p = Path(nbs_path)/'sidebar.yml'
    if not p.exists(): return []
    contents = (((yaml.safe_load(p.read_text()) or {}).get('website') or {}).get('sidebar') or {}).get('contents') or []
    groups = [(None, [])]
    def _items(xs, into):
        for x in xs:
            if isinstance(x, str): into.append(x)
            elif isinstance(x, dict) and 'section' in x:
                if x.get('href'): into.append(x['href'])
                _items(x.get('contents') or [], into)
            elif isinstance(x, dict) and x.get('href'): into.append(x['href'])
            elif isinstance(x, dict) and x.get('auto'):
                for f in sorted(Path(nbs_path).glob(x['auto'])): into.append(f.relative_to(nbs_path).as_posix())
    for x in contents:
        if isinstance(x, dict) and 'section' in x:
            groups.append((x['section'], []))
            _items([x], groups[-1][1])
            groups.append((None, []))
        else: _items([x], groups[-1][1])
    return [(cap, xs) for cap,xs in groups if xs]


_conf = '''# generated by tools/build_docs.py
project = {title!r}
html_title = {title!r}
extensions = ['myst_nb']
nb_execution_mode = 'off'              # executed before, as nbdev-test runs them
nb_render_markdown_format = 'myst'     # markdown outputs (tables) rendered
nb_output_stderr = 'show'
nb_merge_streams = True
myst_enable_extensions = ['colon_fence', 'attrs_block', 'attrs_inline', 'dollarmath', 'html_image']
myst_heading_anchors = 0
suppress_warnings = ['myst.header', 'misc.highlighting_failure']
html_theme = 'pydata_sphinx_theme'
html_static_path = ['_static']
html_css_files = ['nnrecipe-docs.css']
templates_path = ['_templates']
html_sidebars = {{'**': ['sidebar-nav-global.html']}}
html_theme_options = {{
    'navbar_center': [], 'navbar_end': ['theme-switcher'], 'navbar_persistent': ['search-button'],
    'secondary_sidebar_items': ['page-toc'], 'show_toc_level': 2, 'footer_start': [], 'footer_end': [],
    'navigation_with_keys': False,
}}
html_show_sourcelink = False
html_copy_source = False
nb_ipywidgets_js = {{}}                 # widget JS comes from a CDN: pages show widgets' text form (live ones need JupyterLab)
{mathjax}
html_last_updated_fmt = None
exclude_patterns = ['_build', '**.ipynb_checkpoints']
'''

_nav = '''{# the whole site's navigation, as nbs/sidebar.yml orders it (pydata's own sidebar shows one section only) #}
<nav class="bd-docs-nav bd-links" aria-label="Site navigation">
  <div class="bd-toc-item navbar-nav">
    {{- generate_toctree_html("sidebar", startdepth=0, show_nav_level=1, maxdepth=1, collapse=False,
                              includehidden=True, titles_only=True) -}}
  </div>
</nav>
'''

_css = '''/* the look of nbdev's Quarto site, for the offline renderer */
.nb-description { font-style: italic; font-size: 125%; opacity: 70%; margin-top: -0.5rem; }
div.cell_output { margin-left: 0.8rem; border-left: 2px solid lightsalmon; padding-left: 0.3rem; }
div.cell_output .output { background: none; border: none; }
hr.nb-showdoc-rule { margin: 2rem 0 0.5rem 0; }
.bd-links p.caption { margin-top: 1rem; font-weight: 600; }
'''


def _local_mathjax():
    "MathJax 2 as Jupyter ships it for offline use (jupyter-server-mathjax), or None: then Sphinx's CDN default."
    try: import jupyter_server_mathjax
    except ImportError: return None
    p = Path(jupyter_server_mathjax.__file__).parent/'static'
    return p if (p/'MathJax.js').exists() else None

_mathjax_conf = r'''mathjax_path = 'mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe'   # copied next to the site
mathjax2_config = {'tex2jax': {'inlineMath': [['\\(', '\\)']], 'displayMath': [['\\[', '\\]']], 'processEscapes': True},
                   # jupyter-server-mathjax ships the STIX-Web fonts only (MathJax's default TeX fonts would be fetched)
                   'HTML-CSS': {'availableFonts': [], 'preferredFont': None, 'webFont': 'STIX-Web', 'imageFont': None}}
myst_update_mathjax = False'''


def write_sphinx_src(srcdir, proc, nbs_path, built, title):
    "The Sphinx source tree: converted notebooks, conf.py, nav template, css; returns {docname: title}."
    srcdir = Path(srcdir)
    pages = {}
    for rel in built:
        fm = _front_matter(Path(proc)/rel)
        of = fm.get('output-file') or Path(rel).with_suffix('.html').name
        d = (Path(rel).parent/Path(of).with_suffix('')).as_posix()
        if d in pages.values(): d = Path(rel).with_suffix('').as_posix()  # two notebooks, one output-file
        pages[rel] = d
    if 'index' not in pages.values():
        raise SystemExit(f'No page named index: build nbs/index.ipynb too (pages: {sorted(pages.values())})')
    site, titles = Site(nbs_path, pages), {}
    from nbformat.v4 import new_markdown_cell, new_notebook
    for rel, d in pages.items():
        try: nb, titles[d] = to_myst(Path(proc)/rel, site, d)
        except Exception as e:  # one odd notebook must not take the site down
            titles[d] = _front_matter(Path(proc)/rel).get('title') or Path(rel).stem
            nb = new_notebook(cells=[new_markdown_cell(f'# {titles[d]}\n\nThis page could not be rendered: '
                                                       f'`{type(e).__name__}: {e}`')])
            print(f'  {rel}: could not be converted for Sphinx: {type(e).__name__}: {e}', file=sys.stderr)
        if d == 'index': root = nb
        (srcdir/d).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, srcdir/f'{d}.ipynb')
    # navigation: hidden toctrees on the root page, one per sidebar.yml section, then pages the sidebar misses
    groups, seen, missing = [], {'index'}, []
    for cap, entries in read_sidebar(nbs_path):
        docs = []
        for e in entries:
            d = pages.get(os.path.normpath(e))
            if d is None:
                if (Path(nbs_path)/e).exists() and Path(e).suffix == '.ipynb': continue  # not built (--only)
                missing.append(e); continue
            if d == 'index' and not groups and not docs: docs.append('self')  # Quarto lists the home page too
            elif d not in seen: docs.append(d); seen.add(d)
        if docs: groups.append((cap, docs))
    rest = [d for d in pages.values() if d not in seen]
    if rest: groups.append(('More', rest))
    toc = ''.join(f'\n```{{toctree}}\n:hidden:\n:maxdepth: 1\n' + (f':caption: {cap}\n' if cap else '') + '\n'
                  + '\n'.join(docs) + '\n```\n' for cap, docs in groups)
    root.cells.append(new_markdown_cell(toc))
    nbformat.write(root, srcdir/'index.ipynb')
    for f in Path(nbs_path).rglob('*'):  # images and other files the notebooks link to
        r = f.relative_to(nbs_path)
        if f.is_file() and f.suffix not in ('.ipynb', '.yml', '.yaml', '.css') and not any(p[0] in '._' for p in r.parts):
            (srcdir/r).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, srcdir/r)
    (srcdir/'_templates').mkdir(exist_ok=True); (srcdir/'_static').mkdir(exist_ok=True)
    (srcdir/'_templates'/'sidebar-nav-global.html').write_text(_nav)
    (srcdir/'_static'/'nnrecipe-docs.css').write_text(_css)
    (srcdir/'conf.py').write_text(_conf.format(title=title, mathjax=_mathjax_conf if _local_mathjax() else ''))
    return titles, rest, missing


def _front_matter(p):
    "nbdev's front matter (the raw cell it writes first) of processed notebook `p`."
    try: raw = json.loads(Path(p).read_text())
    except (OSError, ValueError): return {}
    for c in raw['cells']:
        src = ''.join(c.get('source', ''))
        m = c['cell_type'] == 'raw' and re.match(r'^\s*---\s*\n(.*?)\n---\s*$', src, re.S)
        if m: return yaml.safe_load(m.group(1)) or {}
    return {}


def _site_title(nbs_path, cfg):
    p = Path(nbs_path)/'nbdev.yml'
    t = p.exists() and ((yaml.safe_load(p.read_text()) or {}).get('website') or {}).get('title')
    return t or cfg.get('title') or cfg.lib_name


def external_assets(site):
    "Scripts, styles, images and frames a built page loads from another host (a CDN): [(page, url)]."
    pat = re.compile(r'<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)=["\']((?:https?:)?//[^"\']+)', re.I)
    return [(p.relative_to(site).as_posix(), u) for p in sorted(Path(site).rglob('*.html')) for u in pat.findall(p.read_text())]


def _replace_dir(src, dst):
    "Move the built site to `dst`, replacing an earlier build there (never a folder that is not a site)."
    dst = Path(dst)
    if dst.exists():
        if any(dst.iterdir()) and not ((dst/'index.html').exists() or (dst/'.buildinfo').exists()):
            raise SystemExit(f'{dst} exists and is not a built site: choose another --out or empty it.')
        shutil.rmtree(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(src), str(dst))


def run_quarto(args, cfg):
    "nbdev's own docs build (Quarto)."
    if not cfg.custom_sidebar:
        print('Note: nbdev-docs regenerates nbs/sidebar.yml unless [tool.nbdev] custom_sidebar = true', file=sys.stderr)
    if args.only: print('Note: --only is ignored by nbdev-docs: building every notebook', file=sys.stderr)
    exe = Path(sys.executable).parent/'nbdev-docs'
    subprocess.run([str(exe) if exe.exists() else 'nbdev-docs', '--n-workers', str(args.jobs)], cwd=ROOT, check=True)
    if Path(args.out).resolve() != Path(cfg.doc_path).resolve(): _replace_dir(cfg.doc_path, args.out)
    print(f'Docs (nbdev + Quarto): {Path(args.out)/"index.html"}')


def main(argv=None):
    from nbdev.config import get_config
    os.chdir(ROOT)
    cfg = get_config()
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default=str(cfg.doc_path), help='site folder (default: doc_path, _docs)')
    p.add_argument('--proc', default=str(cfg.config_path/'_proc'), help='processed notebooks (default: _proc)')
    p.add_argument('--only', nargs='*', default=None, help='notebook names to build (e.g. index 01_data); default all')
    p.add_argument('--no-exec', action='store_true', help="don't execute notebooks: outputs only where nbdev runs cells")
    p.add_argument('--renderer', choices=['auto', 'quarto', 'sphinx'], default='auto',
                   help='auto: nbdev-docs (Quarto) when quarto is on PATH, else the offline Sphinx renderer')
    p.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1), help='notebooks executed in parallel')
    p.add_argument('--strict', action='store_true', help='fail when a notebook raises while building')
    p.add_argument('--keep-src', default=None, help='also keep the generated Sphinx source tree here (debugging)')
    args = p.parse_args(argv)
    t0 = time.time()

    if args.renderer == 'quarto' or (args.renderer == 'auto' and shutil.which('quarto')): return run_quarto(args, cfg)

    nbs_path = Path(cfg.nbs_path)
    gone = missing_sidebar_entries(nbs_path)
    if gone:  # fail before an hour of executing notebooks, not after: the sidebar and nbs/ are kept in sync by hand
        raise SystemExit(f"nbs/sidebar.yml lists {', '.join(gone)}, which {'does' if len(gone) == 1 else 'do'} not exist in "
                         f"{nbs_path}: add the notebook(s), or remove the entries from nbs/sidebar.yml.")
    from nbdev.doclinks import nbglob
    nbs = sorted(nbglob(nbs_path, as_path=True))
    if args.only is not None:
        want = {Path(o).stem for o in args.only}
        unknown = want - {f.stem for f in nbs}
        if unknown: raise SystemExit(f'--only: no notebook {sorted(unknown)} in {nbs_path} (have {[f.stem for f in nbs]})')
        nbs = [f for f in nbs if f.stem in want]
    from nbdev.config import nbpath2html
    if not any(nbpath2html(f.relative_to(nbs_path)).as_posix() == 'index.html' for f in nbs):
        raise SystemExit('The site needs its home page: build nbs/index.ipynb too (e.g. --only index ...)')
    proc = Path(args.proc).absolute()
    if args.only is None and proc.exists(): shutil.rmtree(proc)  # a full build leaves no stale page behind
    skip_flags = str(cfg.get('tst_flags', '')).split()
    tmp = Path(tempfile.mkdtemp(prefix='nnrecipe-docs-'))
    try:
        rels = [f.relative_to(nbs_path).as_posix() for f in nbs]
        jobs = [(f, tmp/'stage'/r, proc/r) for f,r in zip(nbs, rels)]
        print(f"{'Processing' if args.no_exec else 'Executing and processing'} {len(jobs)} notebooks "
              f"({args.jobs} at a time)...", flush=True)
        ctx = mp.get_context('spawn')
        with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=ctx, max_tasks_per_child=1) as ex:
            futs = [ex.submit(build_nb, f, s, d, not args.no_exec, skip_flags, int(cfg.get('cell_timeout') or 0) or None)
                    for f,s,d in jobs]
            results = []
            for fut, (f, _, _) in zip(futs, jobs):
                try: r = fut.result()
                except Exception as e: r = dict(nb=f.name, errors=[], failed=f'{type(e).__name__}: {e}', secs=0.)
                if r['failed'] and not (proc/f.relative_to(nbs_path)).exists():
                    _stub_nb(f, proc/f.relative_to(nbs_path), r['failed'])
                results.append(r)
                print(f"  {r['nb']}: {r['secs']:.1f} s" + (f", {len(r['errors'])} cell error(s)" if r['errors'] else '')
                      + (", nbdev's doc processing failed" if r['failed'] else ''), flush=True)
        titles, rest, missing = write_sphinx_src(tmp/'src', proc, nbs_path, rels, _site_title(nbs_path, cfg))
        if args.keep_src:
            shutil.rmtree(args.keep_src, ignore_errors=True); shutil.copytree(tmp/'src', args.keep_src)
        print(f'Rendering {len(titles)} pages with Sphinx + myst-nb...', flush=True)
        sb = subprocess.run([sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-d', str(tmp/'doctrees'),
                             str(tmp/'src'), str(tmp/'html')], cwd=tmp, capture_output=True, text=True)
        warns = [l for l in sb.stderr.splitlines() if 'WARNING' in l or 'ERROR' in l]
        if sb.returncode:
            sys.stderr.write(sb.stdout[-4000:] + sb.stderr[-8000:])
            raise SystemExit(f'Sphinx failed (exit {sb.returncode})')
        mj = _local_mathjax()
        if mj and any('_static/mathjax/MathJax.js' in p.read_text() for p in (tmp/'html').rglob('*.html')):
            shutil.copytree(mj, tmp/'html'/'_static'/'mathjax')  # only sites with math carry its 10 MB
        _replace_dir(tmp/'html', args.out)
    finally: shutil.rmtree(tmp, ignore_errors=True)

    cdn = external_assets(args.out)
    if cdn: print('Pages that load from a CDN (they need a network for these parts):\n  '
                  + '\n  '.join(sorted({f'{u}  ({p})' for p,u in cdn})[:20]))
    if warns: print(f'{len(warns)} Sphinx warning(s) (not fatal):\n  ' + '\n  '.join(warns[:20]))
    for r in results:
        if r.get('mixed'):
            print(f"  {r['nb']}: {len(r['mixed'])} cell(s) mix imports with other code, which nbdev runs on its own "
                  f"when building docs (STYLE rule 3): " + '; '.join(m[:60] for m in r['mixed'][:4]))
    if rest: print(f"Not in nbs/sidebar.yml (listed under 'More'): {', '.join(rest)}")
    if missing: print(f"In nbs/sidebar.yml but not found: {', '.join(missing)}")
    bad = [r for r in results if r['errors'] or r['failed']]
    for r in bad:
        for i, en, ev in r['errors'][:3]:
            print(f"  {r['nb']}: cell {i} raised {en}: {ev}".replace('\n', ' ')[:300], file=sys.stderr)
        if r['failed']:
            print(f"  {r['nb']}: nbdev's doc processing (what nbdev-proc-nbs and nbdev-docs run) failed; the page "
                  f"keeps the full run's outputs instead. {r['failed']}".replace('\n', ' ')[:600], file=sys.stderr)
    if bad: print(f'{len(bad)} notebook(s) raised while building: their pages show the error.', file=sys.stderr)
    print(f'Docs (offline renderer: Sphinx + myst-nb): {Path(args.out)/"index.html"}  ({time.time()-t0:.0f} s)')
    if bad and args.strict: sys.exit(1)


if __name__ == '__main__': main()
