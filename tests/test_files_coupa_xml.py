"""The XML input reader reads Coupa's own shapes: a one-item collection wrapper is a list,
an empty element is absent, ``type="array"`` and ``nil="true"`` are honoured."""

from __future__ import annotations

from pathlib import Path

from coupa_connector.operations import read_records


def _read(tmp_path: Path, text: str) -> list[dict[str, object]]:
    path = tmp_path / "in.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + text, encoding="utf-8")
    return list(read_records(path, "xml"))


def test_a_one_item_collection_wrapper_is_a_list(tmp_path: Path) -> None:
    # Coupa's contract example: one party in its wrapper, no type="array".
    [record] = _read(
        tmp_path,
        "<contract><name>Master</name>"
        "<contract-parties><contract-party><party-id>1</party-id></contract-party>"
        "</contract-parties></contract>",
    )
    assert record["contract-parties"] == [{"party-id": "1"}]


def test_a_wrapper_named_as_the_plural_of_its_item_is_a_list_beyond_the_catalog(
    tmp_path: Path,
) -> None:
    [record] = _read(
        tmp_path,
        "<invoice-header><acme-approvals><acme-approval><by>ann</by></acme-approval>"
        "</acme-approvals><entries><entry>x</entry></entries>"
        "<currency><code>USD</code></currency></invoice-header>",
    )
    assert record["acme-approvals"] == [{"by": "ann"}]
    assert record["entries"] == ["x"]
    assert record["currency"] == {"code": "USD"}  # a reference stays a mapping


def test_an_empty_element_is_absent_not_a_value(tmp_path: Path) -> None:
    # Coupa's receipt example sends <attachments/>: nothing to say, not an empty text.
    records = _read(
        tmp_path,
        "<inventory-transactions><inventory-transaction><quantity>2</quantity>"
        "<attachments/><comments></comments><note>  </note>"
        "</inventory-transaction></inventory-transactions>",
    )
    assert records == [{"quantity": "2"}]


def test_type_array_and_nil_are_honoured(tmp_path: Path) -> None:
    [record] = _read(
        tmp_path,
        '<invoice-header><tags type="array"/><po-number nil="true"/>'
        '<taggings type="array"><tagging><name>a</name></tagging></taggings>'
        '<line-count type="integer">3</line-count><paid type="boolean">false</paid>'
        "</invoice-header>",
    )
    assert record == {
        "tags": [],
        "po-number": None,
        "taggings": [{"name": "a"}],
        "line-count": 3,
        "paid": False,
    }


def test_a_root_spelled_like_a_list_that_holds_fields_is_one_record(tmp_path: Path) -> None:
    # Coupa's budget line examples send one line as <budget_lines><segment_1>...
    [record] = _read(
        tmp_path,
        "<budget_lines><segment_1>San_Francisco</segment_1><period><name>Q2 2012</name>"
        "</period><amount>50000</amount></budget_lines>",
    )
    assert record == {
        "segment_1": "San_Francisco",
        "period": {"name": "Q2 2012"},
        "amount": "50000",
    }
    # A list of the object's records stays a list, spelled either way.
    records = _read(
        tmp_path,
        "<budget_lines><budget-line><amount>1</amount></budget-line>"
        "<budget_line><amount>2</amount></budget_line></budget_lines>",
    )
    assert records == [{"amount": "1"}, {"amount": "2"}]
