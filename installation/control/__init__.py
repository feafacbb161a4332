"""Live control over OSC, in the pieces python-osc splits it into.

- addresses.py: the address table, address -> argument types -> commands (`parse()`);
- osc_framing.py: messages and bundles out of a datagram, building one, the size limits;
- access.py: the allow-list and each sender host's budgets;
- osc.py: the server (`OscControl`: socket, dispatcher, the handler every message goes to);
- osc_client.py: the operator's client (`send_message`, for `latent-walk osc-send`);
- mailbox.py: `CommandQueue`, the queue from every control source to the render thread.

Handlers only parse and check a message and put commands on the queue the app passes in
(STYLE.md §1, §8); what the playing section takes is asked through a callback the app passes in
(walk/steering.py answers it).
"""
