"""The workload graph: who talked to whom and what it set off, as data, DOT text and pictures."""

from dpictl.graph.model import Edge, Node, Traffic, WorkloadGraph, build_graph
from dpictl.graph.dot import render_dot, render_image

__all__ = ["Edge", "Node", "Traffic", "WorkloadGraph", "build_graph", "render_dot",
           "render_image"]
