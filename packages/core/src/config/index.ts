// Option definitions and resolution (defaults < config file < GP_* env < flags). See README.
export {};
