"""Order notes: the system notes the order lifecycle writes, and REST /orders/<id>/notes."""

from __future__ import annotations

from typing import Any

from sandbox.woocommerce.errors import ApiError, invalid_type, missing_param
from sandbox.woocommerce.store.rendering import Rendering

NOTE_AUTHOR = "WooCommerce"


class Notes(Rendering):
    """Order notes."""

    def _add_note(
        self,
        order: dict[str, Any],
        text: str,
        *,
        customer_note: bool = False,
        added_by_user: bool = False,
    ) -> dict[str, Any]:
        note = {
            "id": self._next("comment"),
            "order_id": order["id"],
            # class-wc-order.php add_order_note: a note not added by a user is written by
            # "WooCommerce"; WC_REST_Order_Notes_Controller::prepare_item_for_response answers
            # "system" only for the lowercase "woocommerce", so REST shows "WooCommerce".
            "author": NOTE_AUTHOR if not added_by_user else "sandbox",
            "date_created": self.now(),
            "note": text,
            "customer_note": customer_note,
        }
        self._put("note", note)
        return note

    def add_order_note(self, order_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """REST POST /orders/<id>/notes."""
        with self._write():
            order = self._order(order_id)
            if order is None:
                raise ApiError("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
            note_text = data.get("note")
            if not note_text:
                raise missing_param("note")
            if not isinstance(note_text, str):
                raise invalid_type("note", "string")
            customer_note = data.get("customer_note", False)
            if not isinstance(customer_note, bool):
                raise invalid_type("customer_note", "boolean")
            note = self._add_note(
                order,
                note_text,
                customer_note=customer_note,
                added_by_user=bool(data.get("added_by_user")),
            )
        return self.note_json(note["id"]) or {}

    def order_notes(self, order_id: int, note_type: str = "any") -> list[int]:
        """Note ids of an order, newest first; type any, customer or internal."""
        with self._lock:
            notes = [
                n
                for n in self._tables["note"].values()
                if n["order_id"] == order_id
                and (
                    note_type == "any"
                    or (note_type == "customer" and n["customer_note"])
                    or (note_type == "internal" and not n["customer_note"])
                )
            ]
            notes.sort(key=lambda n: n["id"], reverse=True)
            return [n["id"] for n in notes]

    def delete_order_note(self, order_id: int, note_id: int) -> dict[str, Any]:
        """REST DELETE /orders/<id>/notes/<note_id>?force=true."""
        with self._write():
            note = self._tables["note"].get(note_id)
            if note is None or note["order_id"] != order_id:
                raise ApiError("woocommerce_rest_invalid_id", "Invalid resource ID.", 404)
            before = self.note_json(note_id) or {}
            self._remove("note", note_id)
        return before
