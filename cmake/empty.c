/* Placeholder so a module with no sources yet still builds. */
typedef int nb_empty_translation_unit;
