/* Backorders storefront widget for store {{ store_id }}. Vanilla JS, no framework.
 * Finds products on the page (the sandbox's documented selectors, and WooCommerce's own
 * classes), asks our availability endpoint once, and marks what can be backordered.
 * Does nothing at all when our service cannot be reached. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !document.querySelector) return;
  var base = script.src.replace(/\/widget\.js(\?.*)?$/, "");

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  // One product page: sandbox "#product[data-product-id]"; WooCommerce: form.cart with
  // button[name=add-to-cart] (value = product id) inside div.product.
  function productPage() {
    var root = document.querySelector("#product[data-product-id]");
    if (root) {
      // A chosen variation is asked for as "product:variation".
      var variation = root.getAttribute("data-variation-id");
      var id = root.getAttribute("data-product-id") + (variation ? ":" + variation : "");
      return { id: id, root: root,
               form: root.querySelector("#add-to-cart-form"),
               qty: root.querySelector("#quantity"), button: root.querySelector("#add-to-cart") };
    }
    var form = document.querySelector("form.cart");
    var button = form && form.querySelector("button[name='add-to-cart']");
    if (button && button.value) {
      return { id: button.value, root: form.parentNode, form: form,
               qty: form.querySelector("input.qty, input[name='quantity']"), button: button };
    }
    return null;
  }

  // Catalogue entries: sandbox ".product-card[data-product-id]"; WooCommerce: li.product with
  // a.add_to_cart_button[data-product_id].
  function catalogueCards() {
    var cards = [];
    var nodes = document.querySelectorAll(".product-card[data-product-id]");
    for (var i = 0; i < nodes.length; i++) cards.push({ id: nodes[i].getAttribute("data-product-id"), root: nodes[i] });
    var woo = document.querySelectorAll("li.product a[data-product_id]");
    for (var j = 0; j < woo.length; j++) {
      var li = woo[j].closest("li.product");
      if (li) cards.push({ id: woo[j].getAttribute("data-product_id"), root: li });
    }
    return cards;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function label(root, id) {
    var badge = el("span", "backorders-label", "Backorder");
    badge.setAttribute("data-backorders-product", id);
    badge.style.cssText = "display:inline-block;margin:.2em 0;padding:0 .4em;border-radius:3px;background:#dba617;color:#1d2327;font-weight:600";
    root.appendChild(badge);
    return badge;
  }

  function maxOrderable(p) {
    if (p.backorder_remaining === null || p.in_stock === null) return null;
    return p.in_stock + p.backorder_remaining;
  }

  function enhancePage(page, p) {
    var box = el("div", "backorders-widget");
    box.id = "backorders-widget";
    box.setAttribute("data-product-id", page.id);
    box.style.cssText = "margin:.6em 0;padding:.5em .7em;border-left:4px solid #dba617;background:#fcf9e8";
    if (p.out_of_stock) label(box, page.id);
    if (p.message) box.appendChild(el("p", "backorders-message", p.message));
    var split = el("p", "backorders-split");
    var limit = el("p", "backorders-limit");
    box.appendChild(split);
    box.appendChild(limit);
    (page.form || page.root).parentNode.insertBefore(box, (page.form || page.root).nextSibling);
    var max = maxOrderable(p);
    if (max !== null && page.qty) page.qty.setAttribute("max", String(Math.max(max, 1)));

    function update() {
      var qty = parseInt(page.qty ? page.qty.value : "1", 10);
      if (!(qty > 0)) qty = 1;
      var stock = p.in_stock === null ? Infinity : p.in_stock;
      var late = Math.max(qty - stock, 0);
      if (late > 0) {
        var now = Math.min(qty, stock);
        split.textContent = now + " in stock, " + late + " will be backordered" +
          (p.expected_date ? ", expected " + p.expected_date : "");
      } else {
        split.textContent = "";
      }
      box.style.display = (p.out_of_stock || late > 0) ? "" : "none";
      var over = max !== null && qty > max;
      limit.textContent = over ? "At most " + max + " can be ordered now." : "";
      if (page.button) {
        page.button.disabled = over;
        page.button.setAttribute("data-backorders-blocked", over ? "true" : "false");
      }
    }
    if (page.qty) {
      page.qty.addEventListener("input", update);
      page.qty.addEventListener("change", update);
    }
    update();
  }

  function enhanceCard(card, p) {
    if (!p.out_of_stock) return;
    var badge = label(card.root, card.id);
    if (p.message) card.root.appendChild(el("span", "backorders-message", " " + p.message));
    return badge;
  }

  ready(function () {
    var page = productPage();
    var cards = catalogueCards();
    var ids = [];
    if (page) ids.push(page.id);
    for (var i = 0; i < cards.length; i++) if (ids.indexOf(cards[i].id) < 0) ids.push(cards[i].id);
    ids = ids.filter(function (id) { return /^[0-9]+(:[0-9]+)?$/.test(id); }).slice(0, 200);
    if (!ids.length) return;
    var pending = 0;
    // The endpoint takes up to 50 ids at a time; a long catalogue asks in several requests.
    for (var start = 0; start < ids.length; start += 50) {
      pending += 1;
      fetch(base + "/availability?product_ids=" + ids.slice(start, start + 50).join(","),
            { credentials: "omit", mode: "cors" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || !data.products) return;
          if (page && data.products[page.id] && data.products[page.id].backorder_allowed) {
            enhancePage(page, data.products[page.id]);
          }
          for (var k = 0; k < cards.length; k++) {
            var p = data.products[cards[k].id];
            if (p && p.backorder_allowed) enhanceCard(cards[k], p);
          }
        })
        .catch(function () { /* our service is unreachable: the shop works as before */ })
        .then(function () {
          pending -= 1;
          if (!pending) document.documentElement.setAttribute("data-backorders-widget", "ready");
        });
    }
  });
})();
