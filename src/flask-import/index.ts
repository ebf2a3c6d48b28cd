/**
 * Importing the database of the original SWL Flask application. Source: issue 15.
 *
 * @module
 */
export {
  FLASK_IMPORT_MARKER,
  type FlaskImportOptions,
  type FlaskImportReport,
  type FlaskInconsistency,
  type FlaskInconsistencyKind,
  type FlaskInexactPenalty,
  type FlaskMergedTable,
  type FlaskMergeReport,
  type FlaskPenaltyTreatment,
  type FlaskVocabularyIssue,
  importSwlFlaskDatabase,
  penaltyToMinorUnits,
} from './import.ts';
export { FLASK_TABLES } from './source.ts';
