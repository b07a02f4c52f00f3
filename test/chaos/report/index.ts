// The chaos suite's HTML report: what a person opens after a run.
export { renderReport } from './page.js';
export { readHistory } from './read-history.js';
