import { restorekitTestConfig } from '../../vitest.shared';
// Node only: the CLI reads and writes files and starts child processes (every test is a *.node.test.ts).
export default restorekitTestConfig(import.meta.dirname, { browser: false });
