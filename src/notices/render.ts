/**
 * An example renderer: a digest as a plain-text e-mail body. Rendering is the host's — its own
 * templates keyed by `templateKey`, its language, its mailer; this one shows what a digest carries
 * and serves `swl notices run --dry-run`. Source: issue 17.
 *
 * @module
 */
import type { NoticeDigest } from './views.ts';

/** Options of {@link renderDigestText}. */
export interface RenderDigestTextOptions {
  /** ISO 4217 code for amounts (default `COP`). */
  currency?: string;
  /** Digits of the minor unit (default 2: 100 minor units = 1). */
  minorDigits?: number;
  /** BCP 47 locale for numbers (default `en`). */
  locale?: string;
}

const utc = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * The digest as a plain-text message (English): a greeting, the loans out with due dates and
 * accrued fines (the ones a notice is about marked `*`), unsettled penalties, bookings and holds,
 * the totals and the blocks. Instants are printed in UTC; money from minor units with `Intl`.
 * Pure; throws nothing for a digest `claim` or `due` returned.
 */
export function renderDigestText(digest: NoticeDigest, options: RenderDigestTextOptions = {}): string {
  const digits = options.minorDigits ?? 2;
  const money = new Intl.NumberFormat(options.locale ?? 'en', {
    style: 'currency',
    currency: options.currency ?? 'COP',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  const amount = (minor: number) => money.format(minor / 10 ** digits);
  const lines: string[] = [`Hello ${digest.borrower.fullName},`, ''];
  if (digest.loans.length > 0) {
    lines.push('Your loans:');
    for (const loan of digest.loans) {
      const mark = loan.templateKeys.length > 0 ? '*' : '-';
      const late =
        loan.overdueMinutes > 0
          ? `, OVERDUE by ${Math.floor(loan.overdueMinutes / 60)} h ${loan.overdueMinutes % 60} min, fine so far ${amount(loan.accruedFine.amount)}`
          : '';
      lines.push(
        `  ${mark} ${loan.title}${loan.copyCode ? ` (${loan.copyCode})` : ''}: due ${utc(loan.dueDate)}${late}`,
      );
    }
    lines.push('');
  }
  if (digest.penalties.length > 0) {
    lines.push('Unpaid penalties:');
    for (const p of digest.penalties)
      lines.push(`  * ${p.title}, returned ${utc(p.returnDate)}: ${amount(p.amount)}`);
    lines.push('');
  }
  for (const r of digest.reservations) {
    lines.push(
      `Your booking of ${r.quantity} × ${r.title} starts ${utc(r.startsAt)}; pick it up before ${utc(r.pickupDeadline)}.`,
    );
  }
  for (const h of digest.holds) {
    lines.push(
      `${h.title}${h.copyCode ? ` (${h.copyCode})` : ''} is waiting for you${h.expiresAt ? ` until ${utc(h.expiresAt)}` : ''}.`,
    );
  }
  if (digest.reservations.length + digest.holds.length > 0) lines.push('');
  if (digest.fines.total > 0) {
    lines.push(
      `Fines accrued: ${amount(digest.fines.accrued)}; unpaid penalties: ${amount(digest.fines.unsettled)}; total ${amount(digest.fines.total)}.`,
    );
  }
  if (digest.blocked) {
    const why = digest.blocks
      .map((b) => (b === 'overdue_loan' ? 'an overdue loan' : 'an unpaid penalty'))
      .join(' and ');
    lines.push(`You cannot borrow until you settle ${why}.`);
  }
  lines.push('', `(${digest.notices.map((n) => n.templateKey).join(', ')} — as of ${utc(digest.asOf)})`);
  return `${lines.join('\n')}\n`;
}
