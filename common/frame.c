/* placeholder: being written */ typedef int callfloor_placeholder;
