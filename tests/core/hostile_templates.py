"""Hostile message templates, the one corpus: sandbox escapes, resource attacks, and inert probes.

Shared by the worker tests (tests/core/test_template_worker.py), the
`templates check` command tests (tests/core/test_cli_templates.py) and the
message tests (tests/core/test_messages.py). Every entry of HOSTILE must come
back as a refusal (a RenderError, or at least one problem when checked),
never as rendered text. WORST lists the payloads that, in the app's own
process, held the interpreter lock for seconds or minutes or took gigabytes:
they are the ones a limit inside Jinja cannot stop. INERT holds probes that
may render, as long as nothing of the host shows in the output. QUICK is the
part of HOSTILE that a worker refuses in a fraction of a second (nothing
built on the 20,000 x 5000 x 5000 nesting), which the message tests run in
both parts of a message within the fast lane.
"""

from __future__ import annotations

# A tuple nested by reference: 5000 x 5000 references to one 20,000-character string. Small to
# build (the item counts pass every check), 500 GB once written out.
NESTED = "{% set big = (('x' * 20000,) * 5000,) * 5000 %}"
LIST_OF_LISTS = "{% set row = [1] * 5000 %}{% set rows = [row] * 5000 %}"

WORST = [
    LIST_OF_LISTS + "{{ rows|sum(start=[])|length }}",
    LIST_OF_LISTS + "{{ (rows|sum(start=[]))[0] }}",
    "{{ (('x' * 20000,) * 5000,) * 5000 }}",
    NESTED + "{{ big }}",
    NESTED + "{{ big|string }}",
    NESTED + "{{ (big|string)|length }}",
    NESTED + "{{ '%s' % (big,) }}",
    NESTED + "{{ big ~ '' }}",
    NESTED + "{{ big|join(',') }}",
    "{{ [[1] * 5000] * 5000 }}",
]

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__dict__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ range.__globals__ }}",
    "{{ config }}",
    "{{ request }}",
    "{{ config.items() }}",
    "{{ title|safe }}",
    "{{ title|attr('__class__') }}",
    "{{ title|map(attribute='__class__')|first }}",
    "{{ title['__class__'] }}",
    "{{ title.format(title) }}",
    "{{ '{0.__class__}'.format(title) }}",
    "{{ title.__len__() }}",
    "{{ title.__init__.__globals__['__builtins__'] }}",
    "{% include '/etc/passwd' %}",
    "{% import 'os' as os %}{{ os.system('id') }}",
    "{% from 'os' import system %}",
    "{% extends '/etc/passwd' %}",
    "{% set title.x = 1 %}",
    "{% set d = dict(a=1) %}{{ d.update(b=2) }}",
    "{% set l = actions_taken %}{{ l.append('x') }}",
    "{% autoescape false %}{{ title }}{% endautoescape %}",
    "{{ ('x'|e).__html__() }}",
    "{{ ('x'|e).__class__('<script>') }}",
    "{{ (1).to_bytes(10, 'big') }}",
    "{{ range }}",
    "{{ dict }}",
    "{{ title|map('upper') }}",
    "{% macro m() %}x{% endmacro %}{{ m }}",
    "{{ caller() }}",
    "{{ cycler(1, 2) }}",
    "{{ title|tojson }}",
]

RESOURCES = [
    "{{ 'a' * 50000000 }}",
    "{{ ['a'] * 50000000 }}",
    "{{ 9 ** 9 ** 9 }}",
    "{{ 10 ** 1000 }}",
    "{% set n = 2 ** 100 %}{{ n * n * n }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
    "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}x{% endfor %}{% endfor %}"
    "{% endfor %}",
    "{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% set ns = namespace(s='a' * 10000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
    "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s|replace('a', 'aa') %}"
    "{% endfor %}",
    "{{ title|replace('', title * 100) }}",
    "{{ '%999999999s' % 'a' }}",
    "{{ '%*d' % (999999999, 1) }}",
    "{{ '%.999999999f' % 1.5 }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ title.center(999999999) }}",
    "{{ title|center(999999999) }}",
    "{{ title|indent(999999999) }}",
    "{{ title|wordwrap(1, wrapstring='x' * 10000) }}",
    "{{ ('x' * 20000)|wordwrap(1) }}",
    "{{ range(1000)|join('x' * 10000) }}",
    "{{ ('x ' * 9000).split()|join(' ') }}",
    "{{ actions_taken|batch(999999999, 'x')|list }}",
    "{% for x in [1, 2] recursive %}{{ loop([x]) }}{% endfor %}",
    "{% set x %}{% for i in range(1000) %}{{ 'a' * 20000 }}{% endfor %}{% endset %}",
    "{% for i in range(1000) %}{{ 'x' * 20000 }}{% endfor %}",
    "{{ 'x' * 20000 ~ 'x' * 20000 }}",
    "{{ [1] * 5000 + [1] }}",
    NESTED + "{{ big|map('string')|list|length }}",
    NESTED + "{{ big|replace('x', 'y') }}",
    NESTED + "{{ big|upper }}",
    NESTED + "{{ big|wordwrap(10) }}",
    NESTED + "{{ big|indent(4) }}",
    NESTED + "{{ big|sum(start=()) }}",
    "{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}",
    "{{ " + "[" * 2000 + "]" * 2000 + " }}",
    "{% if true %}" * 300 + "x" + "{% endif %}" * 300,
    "{% for i in range(2) %}" * 30 + "x" + "{% endfor %}" * 30,
    "{{ title }}" + " " * 50_001,
]

# May render (escaped, or as a harmless value), but must show nothing of the host.
INERT = [
    "{{ title|map(attribute='__class__')|list }}",
    "{{ '<script>alert(1)</script>' }}",
    "{{ dict.fromkeys(range(3)) }}",
    "{{ loop }}",
    "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}",
]

HOSTILE = WORST + ESCAPES + RESOURCES
QUICK = [payload for payload in ESCAPES + RESOURCES if NESTED not in payload]
