// Written by hand (no schema change): recomputes the catalog's search text, which versions before
// Swl20261201132537_money_terms_withdrawn cut at 320 characters. A migration of its own because the
// column must already be `text` when the rows are rewritten.
import { Migration } from '@mikro-orm/migrations';
import { refreshCatalogSearchText } from '../../src/catalog/codes.ts';

export class Swl20261201134500_search_text_refresh extends Migration {

  override name = 'Swl20261201134500_search_text_refresh';

  override async up(): Promise<void> {
    // Idempotent and batched; rows whose text is already whole are left alone.
    await refreshCatalogSearchText((sql, params) => this.execute(sql, params));
  }

  override async down(): Promise<void> {
    // Nothing to undo: the whole text is valid under the previous schema.
  }

}
