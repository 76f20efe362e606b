"""Suricata 7 as an alternative data plane: rule translation, configuration, the child
process and its EVE output. Nothing here is imported unless `--engine suricata` is asked for."""
