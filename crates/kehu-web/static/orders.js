// The new order form: picking a product fills its current price into the
// line's unit price (unless one was typed), and the totals are estimated as
// one types. Without this script a blank unit price takes the product's
// price when the order is saved, and "Calculate" shows the totals.
(function () {
  'use strict';
  const form = document.getElementById('order-form');
  if (!form) return;
  // Yuan text to fen, or null when it is not an amount.
  const fen = (text, blank) => {
    const s = String(text || '').trim().replace(/[,，¥￥元\s]/g, '');
    if (s === '') return blank;
    if (!/^\d+(\.\d{1,2})?$/.test(s)) return null;
    const [whole, frac = ''] = s.split('.');
    return Number(whole) * 100 + Number((frac + '00').slice(0, 2));
  };
  const yuan = (f) => {
    const sign = f < 0 ? '-' : '';
    const a = Math.abs(f);
    const whole = String(Math.floor(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return `${sign}¥${whole}.${String(a % 100).padStart(2, '0')}`;
  };
  const live = document.getElementById('live-total');
  function recompute() {
    let sum = 0;
    let ok = true;
    let any = false;
    for (const row of form.querySelectorAll('tr.order-line')) {
      const product = row.querySelector('.line-product');
      const price = row.querySelector('.line-price');
      const opt = product.selectedOptions[0];
      const unit = fen(price.value, opt && opt.dataset.price ? fen(opt.dataset.price, null) : 0);
      const qtyText = row.querySelector('.line-quantity').value.trim();
      const qty = qtyText === '' ? 1 : Number(qtyText);
      const discount = fen(row.querySelector('.line-discount').value, 0);
      const cell = row.querySelector('.line-amount');
      const blank = product.value === '' && price.value.trim() === '' &&
        row.querySelector('input[name$=".description"]').value.trim() === '';
      if (blank) {
        cell.textContent = '';
        continue;
      }
      any = true;
      if (unit === null || discount === null || !Number.isInteger(qty) || qty < 1) {
        cell.textContent = '';
        ok = false;
        continue;
      }
      const amount = qty * unit - discount;
      cell.textContent = yuan(amount);
      sum += amount;
    }
    const orderDiscount = fen(form.querySelector('[name="discount"]').value, 0);
    if (!live) return;
    if (!any || !ok || orderDiscount === null) {
      live.hidden = true;
      return;
    }
    live.hidden = false;
    live.querySelector('strong').textContent = yuan(sum - orderDiscount);
  }
  form.addEventListener('change', (ev) => {
    const select = ev.target.closest('.line-product');
    if (select) {
      const price = select.closest('tr').querySelector('.line-price');
      const opt = select.selectedOptions[0];
      // Replace the price only when it is blank or was filled from a product.
      if (price.value.trim() === '' || price.dataset.filled === price.value) {
        price.value = (opt && opt.dataset.price) || '';
        price.dataset.filled = price.value;
      }
    }
    recompute();
  });
  form.addEventListener('input', recompute);
  recompute();
})();
