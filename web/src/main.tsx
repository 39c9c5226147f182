import { render } from 'preact';
import './styles.css';
import { App } from './ui/App';
import { store } from './ui/use-store';

render(<App />, document.getElementById('app')!);
void store.boot();
