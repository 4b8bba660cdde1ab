// The console's entry point: its styles, and the app rendered into the page.
import { render } from 'preact';
import './console.css';
import { App } from './app';

render(<App />, document.getElementById('console')!);
