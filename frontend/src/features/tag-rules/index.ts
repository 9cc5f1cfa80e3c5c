export { TagRulesPage } from './components/tag-rules-page';
