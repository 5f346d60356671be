"""Measures the desktop app as a clerk meets it (see ../BENCH_NOTES.md and scripts/bench-desktop).

1. Launch to ready: the time from starting the binary until its first screen takes input (the
   front end calls `ui_ready` once the login screen has focus; the app prints the milliseconds
   since its process started and exits). Median of several launches, on an empty data directory
   (first start: the counter is initialised) and on a store of 1M patients.
2. Search as you type with 1M patients: the real window, driven through WebDriver, typing queries
   one key at a time; the front end records the time from each keystroke's input event to the
   animation frame that shows its results (window.__parchiMetrics.search).
3. Resident memory: the app process plus its WebKit web and network processes, after the
   searches: VmRSS from /proc (a page shared by the processes counts in each: overstates), PSS
   (a shared page split among all processes mapping it, here also the test's WebKitWebDriver:
   understates), and the distinct physical pages of the three processes from
   /proc/PID/pagemap (each shared page once, whoever else maps it: what the app costs the
   machine; needs root). `PARCHI_BENCH_MAPS=1` also prints each process's largest mappings.

Usage: desktop_bench.py APP_BINARY STORE_1M_DIR [--launches N]
Prints a summary; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The end-to-end tests' harness opens the window the same way.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "desktop"))
from conftest import free_port, open_window  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

QUERIES = ["Sunita Devi", "Suneeta Devee", "Ramesh Kumar", "Rmesh Kumr", "Mohd Irfan",
           "Priya Sharma", "Anil Yadav", "9876543210", "7004512345"]
ADMIN = ("bench", "bench-password-1")


def launch_ready(app: Path, data: Path) -> tuple[float, float]:
    """(ready_ms reported by the app, wall ms until the line arrived)."""
    env = dict(os.environ, PARCHI_DATA=str(data), PARCHI_BENCH_READY="exit")
    t0 = time.monotonic()
    p = subprocess.Popen([str(app)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    ready = None
    assert p.stdout is not None
    for line in p.stdout:
        if "ready_ms=" in line:
            ready = float(line.strip().split("ready_ms=")[1])
            wall = (time.monotonic() - t0) * 1e3
            break
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
    if ready is None:
        raise RuntimeError("the app never reported ready")
    return ready, wall


def pss_kb(pid: int) -> int:
    """Proportional set size: shared pages divided among the processes that share them."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(l.split()[1]) for l in rollup.splitlines() if l.startswith("Pss:")), 0)


def resident_pages(pid: int) -> tuple[set[int], set[int]]:
    """Physical page frame numbers resident in a process: those of mapped files (libraries, the
    binary) and the rest (heap, stacks, anonymous and shared memory). Reads /proc/PID/pagemap:
    needs root, else the frame numbers read as 0 and the sets are empty."""
    files: set[int] = set()
    other: set[int] = set()
    try:
        smaps = Path(f"/proc/{pid}/smaps").read_text().splitlines()
        pagemap = open(f"/proc/{pid}/pagemap", "rb")
    except OSError:
        return files, other
    with pagemap:
        span = None
        frames = other
        for line in smaps:
            head = line.split()
            if head and "-" in head[0] and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                span = (lo, hi)
                path = head[5] if len(head) > 5 else ""
                frames = files if path.startswith("/") and not path.startswith("/SYSV") else other
            elif head and head[0] == "Rss:" and span and int(head[1]) > 0:
                lo, hi = span
                try:
                    pagemap.seek(lo // 4096 * 8)
                    raw = pagemap.read((hi - lo) // 4096 * 8)
                except OSError:
                    continue
                for (entry,) in struct.iter_unpack("<Q", raw):
                    if entry >> 63 and entry & ((1 << 55) - 1):
                        frames.add(entry & ((1 << 55) - 1))
    return files, other


def tree_rss_kb(pid: int) -> dict[str, int]:
    """VmRSS of a process and all its descendants, by command name (and "PSS total")."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out: dict[str, int] = {}
    files: set[int] = set()
    other: set[int] = set()
    stack = [pid]
    while stack:
        p = stack.pop()
        stack.extend(children.get(p, []))
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        name = next((l.split()[1] for l in status.splitlines() if l.startswith("Name:")), str(p))
        rss = next((int(l.split()[1]) for l in status.splitlines() if l.startswith("VmRSS:")), 0)
        out[name] = out.get(name, 0) + rss
        out["PSS total"] = out.get("PSS total", 0) + pss_kb(p)
        f, o = resident_pages(p)
        files |= f
        other |= o
        if os.environ.get("PARCHI_BENCH_MAPS"):
            print_top_mappings(p, name)
    out["unique total"] = len(files | other) * 4
    out["unique files"] = len(files) * 4
    return out


def print_top_mappings(pid: int, name: str, top: int = 12) -> None:
    """The mappings holding most of a process's resident memory (PARCHI_BENCH_MAPS=1)."""
    sizes: dict[str, int] = {}
    pss: dict[str, int] = {}
    current = ""
    try:
        for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
            head = line.split()
            if head and "-" in head[0] and not head[0].endswith(":"):
                current = head[5] if len(head) > 5 else "[anon]"
            elif head and head[0] == "Rss:":
                sizes[current] = sizes.get(current, 0) + int(head[1])
            elif head and head[0] == "Pss:":
                pss[current] = pss.get(current, 0) + int(head[1])
    except OSError:
        return
    print(f"  {name} ({pid}): largest resident mappings (RSS, PSS); PSS of the process "
          f"{sum(pss.values()) / 1024:.1f} MB")
    for path, kb in sorted(sizes.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {kb / 1024:7.1f} {pss.get(path, 0) / 1024:7.1f} MB  {path}")


def search_and_memory(app: Path, data: Path) -> tuple[list[float], dict[str, int]]:
    port = free_port()
    env = dict(os.environ, PARCHI_DATA=str(data))
    drv = subprocess.Popen(["tauri-driver", "--port", str(port), "--native-port", str(free_port())], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        d = open_window(port, app)
        try:
            wait = WebDriverWait(d, 60, poll_frequency=0.1)
            wait.until(lambda d: d.find_elements(By.ID, "login-user"))
            d.find_element(By.ID, "login-user").send_keys(ADMIN[0], Keys.ENTER)
            d.find_element(By.ID, "login-secret").send_keys(ADMIN[1], Keys.ENTER)
            wait.until(lambda d: d.find_elements(By.ID, "register-form"))
            time.sleep(1.0)  # the form settles (it focuses the name field once loaded)
            typed = 0
            for q in QUERIES:
                # F3, as a clerk does, and only type once the search box has the focus.
                ActionChains(d).send_keys(Keys.F3).perform()
                wait.until(lambda d: d.switch_to.active_element.get_attribute("id") == "search")
                for ch in q:
                    ActionChains(d).send_keys(ch).perform()
                    typed += 1
                    time.sleep(0.12)  # a quick clerk: about 8 keys a second
                time.sleep(0.5)
                ActionChains(d).send_keys(Keys.ESCAPE).perform()
                time.sleep(0.2)
            times = d.execute_script("return (window.__parchiMetrics || {search: []}).search")
            print(f"typed {typed} keys into the search box; {len(times)} results painted "
                  "(a keystroke typed while a search runs is folded into the next one)")
            app_pid = None
            for p in Path("/proc").iterdir():
                if p.name.isdigit():
                    try:
                        if os.readlink(p / "exe") == str(app) and int(p.name) != drv.pid:
                            app_pid = int(p.name)
                    except OSError:
                        pass
            mem = tree_rss_kb(app_pid) if app_pid else {}
            return [float(t) for t in times], mem
        finally:
            d.quit()
    finally:
        drv.terminate()
        drv.wait(timeout=5)


def idle_memory(app: Path) -> dict[str, int]:
    """The app's memory at its first screen on an empty data directory, nothing searched: its
    fixed cost (WebKitGTK's three processes, the UI, an empty store)."""
    tmp = Path(tempfile.mkdtemp(prefix="parchi-bench-"))
    env = dict(os.environ, PARCHI_DATA=str(tmp / "data"), PARCHI_BENCH_READY="1")
    p = subprocess.Popen([str(app)], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert p.stdout is not None
        for line in p.stdout:
            if "ready_ms=" in line:
                break
        time.sleep(2.0)  # the first status poll and the sync worker's first round
        return tree_rss_kb(p.pid)
    finally:
        p.kill()
        p.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def describe_memory(mem: dict[str, int]) -> str:
    mem = dict(mem)
    pss = mem.pop("PSS total", 0)
    unique = mem.pop("unique total", 0)
    unique_files = mem.pop("unique files", 0)
    total = sum(mem.values())
    parts = ", ".join(f"{k} {v / 1024:.0f} MB" for k, v in sorted(mem.items(), key=lambda kv: -kv[1]))
    return (f"RSS total {total / 1024:.0f} MB ({parts}); PSS total {pss / 1024:.0f} MB; distinct "
            f"pages of the three processes (each shared page once) {unique / 1024:.0f} MB, of which "
            f"mapped files (libraries, the binary) {unique_files / 1024:.0f} MB and heap, stacks and "
            f"other memory {(unique - unique_files) / 1024:.0f} MB")


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round((len(s) - 1) * p))] if s else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("app", type=Path)
    ap.add_argument("store", type=Path, help="a data directory holding parchi.db with 1M patients")
    ap.add_argument("--launches", type=int, default=5)
    a = ap.parse_args()
    app = a.app.resolve()

    print(f"app: {app}")
    fresh_ready, fresh_wall = [], []
    for _ in range(a.launches):
        tmp = Path(tempfile.mkdtemp(prefix="parchi-bench-"))
        r, w = launch_ready(app, tmp / "data")
        fresh_ready.append(r)
        fresh_wall.append(w)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"launch to ready, empty data dir (initialises the counter): median {statistics.median(fresh_ready):.0f} ms "
          f"(wall {statistics.median(fresh_wall):.0f} ms), runs {[round(x) for x in fresh_ready]}")

    big_ready, big_wall = [], []
    for _ in range(a.launches):
        r, w = launch_ready(app, a.store)
        big_ready.append(r)
        big_wall.append(w)
    print(f"launch to ready, 1M-patient store: median {statistics.median(big_ready):.0f} ms "
          f"(wall {statistics.median(big_wall):.0f} ms), runs {[round(x) for x in big_ready]}")

    times, mem = search_and_memory(app, a.store)
    print(f"search keystroke to results on screen, 1M patients: {len(times)} keystrokes, "
          f"p50 {pct(times, 0.5):.1f} ms, p95 {pct(times, 0.95):.1f} ms, p99 {pct(times, 0.99):.1f} ms, "
          f"max {max(times) if times else 0:.1f} ms")
    print(f"resident memory after the searches, 1M patients: {describe_memory(mem)}")
    print(f"baseline, same run: resident memory at the first screen, empty data dir, nothing "
          f"searched: {describe_memory(idle_memory(app))}")


if __name__ == "__main__":
    main()
