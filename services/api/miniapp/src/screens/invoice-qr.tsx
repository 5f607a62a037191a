// An invoice's payment QR code (GOST R 56042-2014, drawn by the API): what the owner scans in
// their bank's app; its purpose names the invoice and the plots, so the payment books itself.
import { imageUrl } from "../core/api";
import { t } from "../core/i18n";
import { useLoad } from "../core/ui";

export function InvoiceQr({ ownerId, invoice }: { ownerId: number; invoice: { id: number; payment_qr?: string | null; period_name: string } }) {
  const path = `/owners/${ownerId}/invoices/${invoice.id}/payment-qr.png`;
  const img = useLoad<string>(() => (invoice.payment_qr ? imageUrl(path) : Promise.resolve("")), [path, invoice.payment_qr]);
  if (!invoice.payment_qr || !img.data) return null;
  return (
    <div class="qr-pay" data-invoice={invoice.id}>
      <img class="qr" src={img.data} width={180} height={180} alt={t("invoice_qr.alt", { period: invoice.period_name })} />
      <span class="muted block">{t("invoice_qr.scan")}</span>
    </div>
  );
}
