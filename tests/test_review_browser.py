"""The review widget in a real browser: JupyterLab on 127.0.0.1, headless Debian chromium driven by Playwright.

Widgets that work as Python objects but not in JupyterLab (a missing front-end extension, a model that never
renders, a click that never reaches the kernel) are a common real failure; this test rules them out: the thumbnails
render, a relabel chosen in the page and an exclude clicked in the page both land in the ledger on disk.
Chromium comes from Debian (`apt-get install -y chromium`, done here when missing), never from `playwright install`.
"""
import os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import nbformat, pytest

def _chromium()->str:
    "Debian's chromium, installed with apt-get when missing."
    if shutil.which('chromium'): return shutil.which('chromium')
    if not shutil.which('apt-get'): pytest.skip('no chromium and no apt-get to install it with (not a Debian machine)')
    env = {**os.environ, 'DEBIAN_FRONTEND': 'noninteractive'}
    p = subprocess.run(['apt-get', 'install', '-y', '-q', 'chromium'], capture_output=True, text=True, env=env)
    if p.returncode:
        subprocess.run(['apt-get', 'update', '-q'], capture_output=True, env=env)
        p = subprocess.run(['apt-get', 'install', '-y', '-q', 'chromium'], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and shutil.which('chromium'), f"apt-get install chromium failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    return shutil.which('chromium')

def _free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture
def lab(tmp_path):
    "A JupyterLab server on 127.0.0.1 serving `tmp_path`; yields (base url, token, folder)."
    port, token = _free_port(), secrets.token_hex(16)
    log = open(tmp_path/'lab.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
                             f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={tmp_path}',
                             '--LabApp.expose_app_in_browser=True', '--ServerApp.disable_check_xsrf=True',
                             *(['--allow-root'] if os.geteuid() == 0 else [])],
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2); break
            except OSError: time.sleep(0.5)
            assert proc.poll() is None, (tmp_path/'lab.log').read_text()[-3000:]
        else: pytest.fail(f"JupyterLab did not start in 120 s:\n{(tmp_path/'lab.log').read_text()[-3000:]}")
        yield base, token, tmp_path
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill()
        log.close()

def test_review_widget_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright
    from nnrecipe.data import digits, load_items
    from nnrecipe.ledger import Ledger
    base, token, folder = lab
    items = load_items(digits()).iloc[::100].reset_index(drop=True)
    first, second = items.fname[0], items.fname[1]
    new_label = next(c for c in sorted(items.label.unique()) if c != items.label[0])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from nnrecipe.data import digits, load_items\n"
        "from nnrecipe.review import candidates, review\n"
        "items = load_items(digits()).iloc[::100].reset_index(drop=True)\n"
        "rv = review(candidates(items), 'review.jsonl', page_size=6)\n"
        "rv")])
    nb.metadata = {'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'}}
    nbformat.write(nb, folder/'review.ipynb')
    chromium = _chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=['--headless', '--no-sandbox', '--disable-gpu',
                                                                     '--disable-background-networking'])
        page = browser.new_page(viewport={'width': 1400, 'height': 1000})
        try:
            page.goto(f'{base}/lab/tree/review.ipynb?token={token}', timeout=120_000)
            page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=120_000)
            # run only once the notebook's kernel is connected and idle: earlier, a run opens a kernel dialog or does nothing
            page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
                const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }""", timeout=180_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_selector('.nnr-review .nnr-tile img', timeout=180_000)
            tiles = page.locator('.nnr-tile')
            assert tiles.count() == 6
            # thumbnails render: decoded images with their natural size, not broken-image icons
            page.wait_for_function("[...document.querySelectorAll('.nnr-tile img')].every(i => i.complete && i.naturalWidth > 0)",
                                   timeout=30_000)
            page.screenshot(path=str(folder/'review.png'))   # kept in the test's tmp folder, to look at
            assert Path(first).name in tiles.nth(0).inner_text()
            tiles.nth(0).locator('.nnr-relabel select').select_option(label=new_label)
            tiles.nth(1).locator('button', has_text='exclude').click()
            led = Ledger(folder/'review.jsonl')
            for _ in range(60):
                if len(led) >= 2: break
                time.sleep(0.5)
            page.wait_for_selector('.nnr-tile >> nth=1 >> .nnr-status:has-text("exclude")', timeout=30_000)
        except Exception:
            page.screenshot(path=str(folder/'failure.png'), full_page=True)
            raise
        finally: browser.close()
    latest = Ledger(folder/'review.jsonl').latest()
    assert latest.loc[first, 'decision'] == 'relabel' and latest.loc[first, 'new_label'] == new_label, latest
    assert latest.loc[second, 'decision'] == 'exclude', latest
    assert latest.loc[first, 'old_label'] == items.label[0]
