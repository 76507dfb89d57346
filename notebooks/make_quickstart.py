"""Builds notebooks/quickstart.ipynb from the cells below (keeps the notebook reviewable
as code). Run: python notebooks/make_quickstart.py"""

from pathlib import Path

import nbformat as nbf

CELLS = [
    ("md", """# cxid quickstart

Resolve the bundled sample touchpoints (web events, store beacons, Twitter, support
e-mails, an ESP export and a CRM) into customers, then look at what came out: the
customer table, cluster sizes, match weights and one customer's identity graph."""),
    ("code", """from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx

import cxid
from cxid.evaluate import evaluate, read_labels

root = Path.cwd() if (Path.cwd() / "data").exists() else Path.cwd().parent
samples = root / "data" / "samples"
sources = {
    "web": samples / "web.jsonl",
    "beacon": samples / "beacon.csv",
    "twitter": samples / "twitter.jsonl",
    "email": samples / "support.mbox",
    "esp": samples / "esp_audience.csv",
    "crm": samples / "crm.csv",
}
res = cxid.resolve(sources)
print(res.summary())"""),
    ("md", "## Customers\nOne row per customer; fields chosen by survivorship rules."),
    ("code", """res.customers.sort_values("records", ascending=False).head(10)"""),
    ("md", "## Cluster sizes\nA long tail is expected; a giant customer would mean over-merging."),
    ("code", """sizes = res.customers["records"]
ax = sizes.plot.hist(bins=40, log=True, title="records per customer")
ax.set_xlabel("records")
print(sizes.describe())
res.largest_customers(5)"""),
    ("md", "## Match weights\nScored fragment pairs: matches on the right, non-matches on the left."),
    ("code", """fig, ax = plt.subplots()
res.pairs["match_weight"].plot.hist(bins=50, ax=ax, title="match weight of candidate pairs")
ax.set_xlabel("match weight (bits)")
res.model.match_weights().round(3)"""),
    ("md", "## One customer's identity graph\nRecords (blue) joined through identifier values (orange) and probabilistic matches (red)."),
    ("code", """customer_id = res.largest_customers(1)["customer_id"].iloc[0]
graph = res.customer(customer_id)
colors = ["tab:blue" if d["node_type"] == "record" else "tab:orange"
          for _, d in graph.nodes(data=True)]
edge_colors = ["tab:red" if d["link_type"] == "match" else "grey"
               for _, _, d in graph.edges(data=True)]
fig, ax = plt.subplots(figsize=(8, 6))
nx.draw_networkx(graph, pos=nx.spring_layout(graph, seed=1), node_color=colors,
                 edge_color=edge_colors, with_labels=False, node_size=60, ax=ax)
ax.set_title(customer_id)
print(graph)"""),
    ("md", "## Why are two records one customer?"),
    ("code", """own = res.identities[res.identities["customer_id"] == customer_id]
a = f"{own.iloc[0]['source']}:{own.iloc[0]['record_id']}"
b = f"{own.iloc[-1]['source']}:{own.iloc[-1]['record_id']}"
print(res.explain(a, b).text())"""),
    ("md", "## Accuracy against the samples' ground truth"),
    ("code", """truth = read_labels(samples / "truth.csv")
print(evaluate(truth, res.identities, linkable_only=True).summary())"""),
]


def build() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src)
                for kind, src in CELLS]
    return nb


if __name__ == "__main__":
    out = Path(__file__).with_name("quickstart.ipynb")
    nbf.write(build(), out)
    print(f"wrote {out}")
