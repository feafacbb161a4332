"""Keeping the show running: startup, the render threads, the present loop, status and
statistics, render-thread recovery, hot reload of the show, the process keeper
(`run_show.py --supervise`) and the offline render. app.py builds these and wires them."""
