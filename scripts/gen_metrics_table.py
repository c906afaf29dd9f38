#!/usr/bin/python3
"""Prints the markdown table of every metric ringproxy exports (name, type, labels, help),
read from the kMetrics initializer in proxy/metrics/metric_list.h: that list is the one
declaration the collector renders from, so the table cannot drift from /metrics.

Called by: people updating the README's metrics section, and
tests/integration/deploy_metrics_test.cpp, which checks the table against a live scrape.

  scripts/gen_metrics_table.py [path/to/metric_list.h]

Exits 1 (with a message on stderr) when the header no longer parses into as many entries
as the MetricId enum declares, so a format change is noticed instead of a short table.
Standard library only.
"""
import os
import re
import sys

STRING = r'"(?:[^"\\]|\\.)*"'
STRINGS = rf'((?:{STRING}\s*)+)'  # adjacent literals, concatenated as C++ does
ENTRY = re.compile(
    rf'\{{\s*{STRINGS},\s*Kind::(\w+)\s*,\s*{STRINGS},\s*{STRINGS}\}}', re.S)
KINDS = {'Counter': 'counter', 'Gauge': 'gauge', 'Histogram': 'histogram'}


def literal_text(group):
    parts = re.findall(STRING, group)
    # The help strings use no escapes beyond \" and \\; decode just those.
    return ''.join(p[1:-1].replace('\\"', '"').replace('\\\\', '\\') for p in parts)


def strip_comments(source):
    # Only // comments occur in the header; keep string literals intact.
    return re.sub(rf'({STRING})|//[^\n]*', lambda m: m.group(1) or '', source)


def declared_count(source):
    enum = re.search(r'enum\s+MetricId[^{]*\{([^}]*)\}', source, re.S)
    if not enum:
        return None
    names = [n.strip() for n in enum.group(1).split(',') if n.strip()]
    return names.index('kMetricCount') if 'kMetricCount' in names else None


def parse(path):
    with open(path, encoding='utf-8') as f:
        source = strip_comments(f.read())
    block = re.search(r'kMetrics\s*\{\{(.*?)\}\};', source, re.S)
    if not block:
        sys.exit(f'{path}: no kMetrics{{{{ ... }}}}; initializer found')
    rows = []
    for m in ENTRY.finditer(block.group(1)):
        name, kind, labels, help_text = (literal_text(m.group(1)), m.group(2),
                                         literal_text(m.group(3)), literal_text(m.group(4)))
        if kind not in KINDS:
            sys.exit(f'{path}: {name}: unknown Kind::{kind}')
        rows.append((name, KINDS[kind], labels, help_text))
    expected = declared_count(source)
    if expected is None or expected != len(rows):
        sys.exit(f'{path}: parsed {len(rows)} metrics but MetricId declares {expected}; '
                 'has the initializer format changed?')
    return rows


def cell(text):
    return text.replace('|', '\\|')


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        root, 'proxy', 'metrics', 'metric_list.h')
    print('| Metric | Type | Labels | Help |')
    print('|---|---|---|---|')
    for name, kind, labels, help_text in parse(path):
        label_cell = ', '.join(f'`{l.strip()}`' for l in labels.split(',') if l.strip())
        print(f'| `{name}` | {kind} | {label_cell or "—"} | {cell(help_text)} |')


if __name__ == '__main__':
    main()
