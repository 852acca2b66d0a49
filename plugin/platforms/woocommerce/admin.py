"""Links into a WooCommerce store's admin (wp-admin), for the merchant pages."""

from __future__ import annotations


def order_admin_url(base_url: str, order_id: str) -> str:
    """The order's edit page in WooCommerce's admin (wp-admin/post.php?post=<id>&action=edit)."""
    return f"{base_url.rstrip('/')}/wp-admin/post.php?post={order_id}&action=edit"
