"""Live control over OSC: the address table (addresses.py) and the UDP server (osc.py).

Handlers only parse and check a message and put commands on the queue the app passes in
(STYLE.md §1, §8); control/ imports nothing of the app but walk/commands.py.
"""
