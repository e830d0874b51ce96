"""Store message bodies and triage results deflated with a preset dictionary (db.packing), exactly as they were.

A real email stores about 1 KB of text and 3-4 KB of HTML, most of it the shipped template's own
markup, four times per incident: the largest table of a realistic database; each incident's triage
result is about 1 KB of its policy's rule wording. `communications.body_text`, `body_html` and
`incidents.triage_result` become BLOB/BYTEA columns of the same names in the `db.packing` format
(one format byte, then raw deflate with a dictionary, or the UTF-8 itself when that is not larger).
Each column's stored text is packed exactly as it was (a triage result's JSON text is kept
character for character, never re-serialised), a batch of rows at a time in id order, into a new
column; the old column is dropped in place and the new one takes its name (SQLite 3.35+ DROP COLUMN
and RENAME COLUMN: no table copy, so no ON DELETE CASCADE can fire). On SQLite, `VACUUM`
afterwards returns the freed pages to the disk. Downgrade unpacks every row back into text and
JSON columns (on PostgreSQL it stops at a message body holding a NUL character, which a text column
cannot store: only a message logged after this revision can have one).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.packing import DEFLATE_MESSAGES_1, DEFLATE_TRIAGE_1, pack_text, unpack_text

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
# Table -> its packed columns, each with the dictionary format its rows are written in. This
# revision always writes these formats, whatever db.packing writes later.
PACKED = {
    'communications': {'body_text': DEFLATE_MESSAGES_1, 'body_html': DEFLATE_MESSAGES_1},
    'incidents': {'triage_result': DEFLATE_TRIAGE_1},
}
# What each column was before: its type and the default SQLite needs to add it back NOT NULL.
BEFORE = {'body_text': (sa.Text(), ''), 'body_html': (sa.Text(), ''), 'triage_result': (sa.JSON(), '{}')}


def _move(table: str, pairs: dict[str, str], convert, *, packing: bool) -> None:
    """For every row of `table`, in id order, set each target column to convert(source column, its value).

    Packing reads each source as its stored text and writes bytes; unpacking reads bytes and writes text
    (into JSON on PostgreSQL for the triage result).
    """
    bind = op.get_bind()
    sources = ', '.join(f'CAST({source} AS TEXT)' if packing else source for source in pairs)
    read = sa.text(f'SELECT id, {sources} FROM {table} WHERE id > :after ORDER BY id LIMIT {BATCH}')
    json_cast = not packing and table == 'incidents' and bind.dialect.name == 'postgresql'
    targets = ', '.join(f'{target} = ' + (f'CAST(:v{n} AS JSON)' if json_cast else f':v{n}')
                        for n, target in enumerate(pairs.values()))
    write = sa.text(f'UPDATE {table} SET {targets} WHERE id = :i')
    if packing:
        write = write.bindparams(*(sa.bindparam(f'v{n}', type_=sa.LargeBinary()) for n in range(len(pairs))))
    after = 0
    while rows := bind.execute(read, {'after': after}).all():
        bind.execute(write, [{'i': row[0], **{f'v{n}': None if value is None else convert(source, value)
                                               for n, (source, value) in enumerate(zip(pairs, row[1:], strict=True))}}
                             for row in rows])
        after = rows[-1][0]


def _rename(table: str, old: str, new: str) -> None:
    # Native on SQLite 3.25+ and PostgreSQL: no table copy (Alembic's SQLite alter_column would copy it).
    op.execute(f'ALTER TABLE {table} RENAME COLUMN {old} TO {new}')


def upgrade() -> None:
    for table, columns in PACKED.items():
        for column in columns:
            op.add_column(table, sa.Column(f'{column}_packed', sa.LargeBinary(), nullable=True))
        _move(table, {column: f'{column}_packed' for column in columns},
              lambda column, value, formats=columns: pack_text(value, formats[column]), packing=True)
        for column in columns:
            op.drop_column(table, column)
            _rename(table, f'{column}_packed', column)


def downgrade() -> None:
    for table, columns in PACKED.items():
        for column in columns:
            kind, default = BEFORE[column]
            _rename(table, column, f'{column}_packed')
            # NOT NULL as before; SQLite can add such a column only with a default, which stays there.
            op.add_column(table, sa.Column(column, kind, nullable=False, server_default=default))
        _move(table, {f'{column}_packed': column for column in columns},
              lambda _column, value: unpack_text(bytes(value)), packing=False)
        for column in columns:
            if op.get_bind().dialect.name != 'sqlite':
                op.alter_column(table, column, server_default=None)
            op.drop_column(table, f'{column}_packed')
