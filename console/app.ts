// Spate's web console, served by the broker's HTTP listener at /console/ and bundled at build
// time (scripts/bundle.mjs): no framework, nothing fetched but the broker's own REST API,
// /metrics and WebSocket streams. Views by location hash: #/ (cluster), #/topics,
// #/topics/<name>, #/groups, #/groups/<id>.

import { cluster } from './api.js';
import { h, mount } from './dom.js';
import { groupDetail, groupList } from './groups.js';
import { overview, startScraping } from './overview.js';
import { topicDetail, topicList } from './topics.js';

const main = h('main', {});
const nav = h('nav', {}, h('a', { href: '#/' }, 'Cluster'), h('a', { href: '#/topics' }, 'Topics'), h('a', { href: '#/groups' }, 'Consumer groups'));
const title = h('span', { class: 'cluster-id' });
let generation = 0;

async function route(): Promise<void> {
  const current = ++generation;
  const isCurrent = () => current === generation;
  const path = location.hash.replace(/^#/, '') || '/';
  const [, view = '', name] = path.split('/').map((part, index) => (index === 2 ? decodeURIComponent(part) : part));
  for (const link of nav.querySelectorAll('a')) link.classList.toggle('active', link.getAttribute('href') === `#/${view}`);
  main.setAttribute('aria-busy', 'true');
  try {
    if (view === 'topics' && name !== undefined && name !== '') await topicDetail(main, name);
    else if (view === 'topics') await topicList(main);
    else if (view === 'groups' && name !== undefined && name !== '') await groupDetail(main, name);
    else if (view === 'groups') await groupList(main);
    else await overview(main, isCurrent);
  } catch (error) {
    if (isCurrent()) mount(main, h('h1', {}, 'Something went wrong'), h('p', { class: 'bad' }, (error as Error).message));
  } finally {
    if (isCurrent()) main.removeAttribute('aria-busy');
  }
}

async function start(): Promise<void> {
  mount(document.body, h('header', {}, h('a', { href: '#/', class: 'brand' }, 'Spate'), title, nav), main);
  const info = await cluster().catch(() => undefined);
  title.textContent = info === undefined ? 'cluster unreachable' : `cluster ${info.cluster_id}`;
  startScraping();
  window.addEventListener('hashchange', () => void route());
  await route();
}

void start();
