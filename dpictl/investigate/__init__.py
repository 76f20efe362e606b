"""Investigating an alert: its packet dissected as Wireshark does, and the evidence exported
as a capture file Wireshark opens."""
