# main.py -- put your code here!
