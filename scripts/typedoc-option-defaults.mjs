// A TypeDoc plugin: every optional property of a public `…Options` interface
// states its default with `@default` (or `@defaultValue`), so the API
// reference answers "what happens if I leave this out" for every option.
// A missing tag is a validation warning like TypeDoc's own `notDocumented`
// ones, so `npm run docs` and test/package/docs.test.ts report it the same way.
import { Application, ReflectionKind } from 'typedoc';

const DEFAULT_TAGS = ['@default', '@defaultValue'];

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    if (!app.options.getValue('validation').notDocumented) return;
    for (const options of project.getReflectionsByKind(ReflectionKind.Interface)) {
      if (!options.name.endsWith('Options')) continue;
      for (const option of options.children ?? []) {
        // An inherited option is checked where it is declared.
        if (option.inheritedFrom || !option.flags.isOptional) continue;
        if (DEFAULT_TAGS.some((tag) => option.comment?.getTag(tag))) continue;
        const id = project.getSymbolIdFromReflection(option);
        const source = id ? `${id.packageName}/${id.packagePath}` : (option.sources?.[0]?.fileName ?? 'an unknown file');
        app.logger.validationWarning(`${option.getFriendlyFullName()} (Property), defined in ${source}, does not state its @default`);
      }
    }
  });
}
