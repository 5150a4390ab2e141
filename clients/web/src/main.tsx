/** The web client's entry: checks the session cookie, then shows sign-in or the pages. */
import { render } from 'preact';
import './styles.css';
import { App } from './App.tsx';
import { restoreSession } from './session.ts';

render(<App />, document.getElementById('app')!);
void restoreSession();
