import { restorekitTestConfig } from '../../vitest.shared';
export default restorekitTestConfig(import.meta.dirname);
