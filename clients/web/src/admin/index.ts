/** The admin pages: their own chunk, loaded when an admin opens one (the chat page does not carry them). */
export { UsersPage } from './Users.tsx';
export { RulesPage } from './Rules.tsx';
export { JobsPage, JobPage } from './Jobs.tsx';
export { ProvidersPage } from './Providers.tsx';
